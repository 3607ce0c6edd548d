// HTTP request counts and durations, kept in plain maps keyed by label values and handed to
// prom-client's registry as metric objects it reads at scrape time. prom-client's own Counter and
// Histogram hash and validate the label object on every request; these do a map lookup.
import type { Registry, RegistryContentType } from 'prom-client';

const requestsName = 'sluice_http_requests_total';
const durationName = 'sluice_http_request_duration_seconds';
const upperBounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

type Labels = Readonly<Record<string, string>>;
interface MetricValue {
  readonly labels: Labels;
  readonly value: number;
  readonly metricName?: string;
}

/** The part of prom-client's metric contract its Registry uses. */
abstract class ScrapedMetric {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  constructor(
    public name: string, // the registry renames counters for OpenMetrics
    readonly help: string,
  ) {}

  protected abstract values(): MetricValue[];
  abstract reset(): void;

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValue[];
    aggregator: string;
  }> {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.values(),
      aggregator: this.aggregator,
    };
  }
}

class RequestCounter extends ScrapedMetric {
  readonly type = 'counter';
  private series = new Map<string, { labels: Labels; value: number }>();

  inc(method: string, route: string, status: number): void {
    const key = `${method} ${status} ${route}`;
    const s = this.series.get(key);
    if (s) s.value++;
    else this.series.set(key, { labels: { method, route, status: String(status) }, value: 1 });
  }

  protected values(): MetricValue[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value }));
  }

  reset(): void {
    this.series = new Map();
  }
}

class DurationHistogram extends ScrapedMetric {
  readonly type = 'histogram';
  /** Per label set: observations per bucket (the last one past every bound), sum and count. */
  private series = new Map<string, { labels: Labels; hits: number[]; sum: number; count: number }>();

  observe(method: string, route: string, seconds: number): void {
    const key = `${method} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { method, route },
        hits: new Array<number>(upperBounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.series.set(key, s);
    }
    let i = 0;
    while (i < upperBounds.length && seconds > upperBounds[i]!) i++;
    s.hits[i]!++;
    s.sum += seconds;
    s.count++;
  }

  protected values(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      let cumulative = 0;
      upperBounds.forEach((le, i) => {
        cumulative += s.hits[i]!;
        out.push({ labels: { ...s.labels, le: String(le) }, value: cumulative, metricName: bucket });
      });
      out.push(
        { labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: bucket },
        { labels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return out;
  }

  reset(): void {
    this.series = new Map();
  }
}

export interface HttpMetrics {
  /** One finished request: its method, matched route pattern, status and duration. */
  record(method: string, route: string, status: number, seconds: number): void;
}

/** The HTTP metrics of `registry`, registering them on first use (apps in one process share them). */
export function httpMetricsOf<T extends RegistryContentType>(registry: Registry<T>): HttpMetrics {
  const existing = [
    registry.getSingleMetric(requestsName),
    registry.getSingleMetric(durationName),
  ] as unknown[];
  let requests = existing[0] instanceof RequestCounter ? existing[0] : undefined;
  let duration = existing[1] instanceof DurationHistogram ? existing[1] : undefined;
  type Registrable = Parameters<Registry<T>['registerMetric']>[0];
  if (!requests) {
    requests = new RequestCounter(requestsName, 'HTTP requests by method, route and status');
    registry.registerMetric(requests as unknown as Registrable);
  }
  if (!duration) {
    duration = new DurationHistogram(durationName, 'HTTP request duration by method and route');
    registry.registerMetric(duration as unknown as Registrable);
  }
  const [r, d] = [requests, duration];
  return {
    record(method, route, status, seconds) {
      r.inc(method, route, status);
      d.observe(method, route, seconds);
    },
  };
}
