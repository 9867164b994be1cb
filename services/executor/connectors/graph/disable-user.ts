/** `disable_user`: block an Entra ID account's sign-in (`PATCH /v1.0/users/{id}` accountEnabled false). */
import { accountAction } from "./user.ts";

export const disableUser = accountAction(false);
