// The benchmark's tasks, for ProcessPool and piscina (both import an ES module by URL).
export const echo = (x) => x;
/** Takes a 1 MiB Buffer (or workerpool's JSON form of one) and answers with its length. */
export const size = (b) => b.length ?? b.data.length;
