import { context, DiagLogLevel, diag, propagation, trace } from '@opentelemetry/api';
import type { Sampler } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config/config.js';
import type { Logger } from '../logger.js';

/** A started SDK. */
export interface Tracing {
  /** Exports the spans still buffered, then stops; the API is a no-op afterwards. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when a traces endpoint is configured, and only then: without one,
 * nothing is registered and every span the gateway asks for is the API's no-op.
 *
 * Registered globally (tracer provider, AsyncLocalStorage context manager, W3C trace-context
 * propagator), as the API expects; the gateway's own code only ever uses `@opentelemetry/api`.
 * Baggage is not propagated: what a caller puts there is not ours to forward to MyPreferences.
 */
export async function startTracing(config: TracingConfig, logger: Logger): Promise<Tracing | undefined> {
  if (!config.tracesUrl) return undefined;
  // Loaded only when tracing is on: the SDK and its exporter cost ~170 ms and ~20 MB of RSS at
  // start-up, which a gateway without an endpoint has no use for.
  const [{ AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk, { ATTR_SERVICE_NAME }] =
    await Promise.all([
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  // The SDK reports failed exports through `diag`, silent unless a logger is set.
  diag.setLogger(
    {
      error: (message) => logger.warn({ component: 'tracing' }, message),
      warn: (message) => logger.warn({ component: 'tracing' }, message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  const exporter = new OTLPTraceExporter({ url: config.tracesUrl.href, headers: { ...config.headers } });
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName }),
    sampler: samplerOf(config, sdk),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: config.exportDelayMs })],
  });
  // What SDK 2's NodeTracerProvider.register() did; SDK 3 leaves the three globals to the caller.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  logger.info({ tracesUrl: config.tracesUrl.origin + config.tracesUrl.pathname, sampler: config.sampler }, 'tracing on: exporting spans over OTLP/HTTP');
  return { shutdown: () => provider.shutdown() };
}

function samplerOf({ sampler, samplerRatio }: TracingConfig, sdk: typeof import('@opentelemetry/sdk-trace')): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = sdk;
  switch (sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(samplerRatio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(samplerRatio) });
  }
}
