/** `lift_containment`: lift a host's network containment (Falcon device action `lift_containment`). */
import { deviceAction } from "./device.ts";

export const liftContainment = deviceAction("lift_containment", "contain_host", "Lift network containment of a host");
