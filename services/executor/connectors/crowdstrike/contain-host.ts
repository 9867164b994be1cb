/** `contain_host`: network-contain a host (Falcon device action `contain`); reversed by `lift_containment`. */
import { deviceAction } from "./device.ts";

export const containHost = deviceAction(
  "contain",
  "lift_containment",
  "Network-contain a host (Falcon 'contain' device action)",
);
