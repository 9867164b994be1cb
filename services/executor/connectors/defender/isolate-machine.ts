/** `isolate_machine`: isolate a machine (`POST /api/machines/{id}/isolate`); reversed by `unisolate_machine`. */
import { isolationAction } from "./machine.ts";

export const isolateMachine = isolationAction("isolate");
