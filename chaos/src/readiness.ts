import type { RunningStack } from '../../stack/dist/stack';

interface Transition {
  at: number;
  ready: boolean;
  /** Why it is not ready, from the body of the 503 (the failed checks). */
  why?: string;
}

/** What one replica's readiness did around a fault. */
export interface ReadinessSummary {
  wentRed: boolean;
  /** Seconds from the fault's start until it first answered not ready. */
  redAfterSeconds: number | null;
  /** Seconds from the fault's end until it was ready again (and stayed so). */
  greenAfterSeconds: number | null;
  /** The failed checks it named while red. */
  failedChecks: string[];
}

/**
 * Polls every replica's /health/ready, recording each change; and each gateway's view of its
 * upstreams (GET /api/health), as `<gateway> breakers`: ready while every circuit breaker is closed.
 */
export class ReadinessWatch {
  private readonly transitions = new Map<string, Transition[]>();
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly stack: RunningStack,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Per replica: red during the fault [from, to], and green again after it. */
  summary(from: number, to: number): Record<string, ReadinessSummary> {
    const result: Record<string, ReadinessSummary> = {};
    for (const [name, transitions] of this.transitions) {
      const firstRed = transitions.find((item) => !item.ready && item.at >= from);
      const lastRed = [...transitions].reverse().find((item) => !item.ready);
      const greenAgain = lastRed ? transitions.find((item) => item.ready && item.at > lastRed.at) : undefined;
      const failedChecks = [...new Set(transitions.filter((item) => !item.ready && item.at >= from && item.why).map((item) => item.why!))];
      result[name] = {
        wentRed: firstRed !== undefined && firstRed.at <= to + 5_000,
        redAfterSeconds: firstRed ? round((firstRed.at - from) / 1_000) : null,
        greenAfterSeconds: firstRed === undefined ? null : greenAgain ? round(Math.max(0, greenAgain.at - to) / 1_000) : null,
        failedChecks,
      };
    }
    return result;
  }

  /** Names of the gateway breaker entries. */
  breakerNames(): string[] {
    return this.gateways().map((name) => `${name} breakers`);
  }

  /** When every replica in `names` was last seen turning ready (undefined if one is not ready). */
  allGreenAt(names: readonly string[]): number | undefined {
    let latest = 0;
    for (const name of names) {
      const last = this.transitions.get(name)?.at(-1);
      if (!last?.ready) return undefined;
      latest = Math.max(latest, last.at);
    }
    return latest;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const started = Date.now();
      await Promise.all([
        ...this.stack.plan.services.map((service) => this.probe(service.name)),
        ...this.gateways().map((name) => this.probeBreakers(name)),
      ]);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, this.everyMs - (Date.now() - started))));
    }
  }

  private gateways(): string[] {
    return this.stack.plan.services.filter((service) => service.service === 'api-gateway').map((service) => service.name);
  }

  private async probeBreakers(gateway: string): Promise<void> {
    let closed = false;
    let why: string | undefined;
    try {
      const response = await fetch(`${this.stack.serviceUrl(gateway)}/api/health`, { signal: AbortSignal.timeout(3_000) });
      const body = (await response.json()) as { upstreams?: Record<string, { breaker: string }> };
      const open = Object.entries(body.upstreams ?? {}).filter(([, upstream]) => upstream.breaker !== 'closed');
      closed = open.length === 0;
      why = open.map(([name, upstream]) => `${name} ${upstream.breaker}`).join(',') || undefined;
    } catch {
      why = 'no answer';
    }
    this.record(`${gateway} breakers`, closed, why);
  }

  private async probe(name: string): Promise<void> {
    let ready = false;
    let why: string | undefined;
    try {
      const response = await fetch(`${this.stack.serviceUrl(name)}/health/ready`, { signal: AbortSignal.timeout(3_000) });
      ready = response.ok;
      if (!ready) {
        const body = (await response.json().catch(() => ({}))) as { checks?: Record<string, { status: string }> };
        why = Object.entries(body.checks ?? {})
          .filter(([, check]) => check.status !== 'ok')
          .map(([check]) => check)
          .join(',') || `status ${response.status}`;
      } else {
        await response.arrayBuffer();
      }
    } catch {
      why = 'no answer';
    }
    this.record(name, ready, why);
  }

  private record(name: string, ready: boolean, why: string | undefined): void {
    const list = this.transitions.get(name) ?? [];
    this.transitions.set(name, list);
    if (list.at(-1)?.ready !== ready) list.push({ at: Date.now(), ready, why });
  }
}

const round = (value: number) => Math.round(value * 10) / 10;
