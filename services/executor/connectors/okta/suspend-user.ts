/** `suspend_user`: suspend an Okta user (`POST /api/v1/users/{id}/lifecycle/suspend`); reversed by unsuspend. */
import { lifecycleAction } from "./user.ts";

export const suspendUser = lifecycleAction(
  "suspend",
  "unsuspend_user",
  "Suspend an Okta user (sign-in blocked; reversible)",
);
