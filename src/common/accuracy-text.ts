// An accuracy as the CLI's tables, the Experiments tree and the comparison panel print it, with its
// 95% interval where the run's eval.json holds one: "95.0% (88.8-97.8)".

export function accuracyText(accuracy: number, interval: readonly [number, number] | null | undefined): string {
  const value = `${(100 * accuracy).toFixed(1)}%`;
  return interval ? `${value} (${intervalText(interval)})` : value;
}

/** The interval's ends in percent, one decimal, without the sign: "88.8-97.8". */
export function intervalText([low, high]: readonly [number, number]): string {
  return `${(100 * low).toFixed(1)}-${(100 * high).toFixed(1)}`;
}
