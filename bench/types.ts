/** One figure of `npm run bench`, always beside a baseline measured in the same run. */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: { readonly name: string; readonly value: number } | null;
  /** value / baseline.value (for latencies: baseline / value, so that higher is better) */
  readonly ratio: number | null;
  readonly extra?: Readonly<Record<string, number | string>>;
}

export interface BenchOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}
