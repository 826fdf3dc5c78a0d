/** The same chain as the backprop benchmark: `pairs` multiply-add pairs, forward and backward; returns dx. */
export function microChain(pairs: number): number;
