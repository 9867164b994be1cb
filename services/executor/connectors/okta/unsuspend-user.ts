/** `unsuspend_user`: unsuspend a suspended Okta user (`POST /api/v1/users/{id}/lifecycle/unsuspend`). */
import { lifecycleAction } from "./user.ts";

export const unsuspendUser = lifecycleAction("unsuspend", "suspend_user", "Unsuspend a suspended Okta user");
