// A lowering choice that holds only while a trace runs (trace-backend.ts turns them on for a target): the layer or
// gradient code reads `on` and writes the graph's form of its op instead of the eager one.
export interface LoweringSwitch {
  readonly on: boolean;
  /** Runs `fn` with the switch on, restoring it afterwards. */
  during<T>(fn: () => T): T;
}

export function loweringSwitch(): LoweringSwitch {
  let on = false;
  return {
    get on() {
      return on;
    },
    during<T>(fn: () => T): T {
      const was = on;
      on = true;
      try {
        return fn();
      } finally {
        on = was;
      }
    },
  };
}
