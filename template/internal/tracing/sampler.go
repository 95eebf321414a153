package tracing

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// newSampler returns the sampler Config names, inside linkedSampler.
func newSampler(cfg *Config) sdktrace.Sampler {
	var s sdktrace.Sampler
	switch cfg.Sampler {
	case "always_on":
		s = sdktrace.AlwaysSample()
	case "always_off":
		s = sdktrace.NeverSample()
	case "traceidratio":
		s = sdktrace.TraceIDRatioBased(cfg.SamplerRatio)
	case "parentbased_always_on":
		s = sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "parentbased_always_off":
		s = sdktrace.ParentBased(sdktrace.NeverSample())
	default: // parentbased_traceidratio; ConfigFromEnv admits no other name
		s = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SamplerRatio))
	}
	return linkedSampler{s}
}

// linkedSampler samples a span without a parent that is linked to a sampled span, and leaves
// every other decision to the configured sampler. Such a span does work on behalf of other
// traces: the store's batch commit carries the events of many requests, so it starts a trace of
// its own linked to theirs, and it is recorded whenever one of them is, whatever the ratio.
// Under always_off no request is sampled, so no batch commit is either.
type linkedSampler struct{ sdktrace.Sampler }

func (s linkedSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult { //nolint:gocritic // the SDK's signature
	if !trace.SpanContextFromContext(p.ParentContext).IsValid() {
		for _, l := range p.Links {
			if l.SpanContext.IsSampled() {
				return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
			}
		}
	}
	return s.Sampler.ShouldSample(p)
}
