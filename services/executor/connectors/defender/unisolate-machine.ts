/** `unisolate_machine`: release a machine from isolation (`POST /api/machines/{id}/unisolate`). */
import { isolationAction } from "./machine.ts";

export const unisolateMachine = isolationAction("unisolate");
