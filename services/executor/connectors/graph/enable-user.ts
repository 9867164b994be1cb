/** `enable_user`: allow a disabled Entra ID account to sign in again (accountEnabled true); the lift. */
import { accountAction } from "./user.ts";

export const enableUser = accountAction(true);
