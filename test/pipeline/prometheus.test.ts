import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderPrometheus } from '../../src/pipeline/prometheus.js';
import { StreamMetricsCollector } from '../../src/pipeline/stream-metrics.js';

describe('renderPrometheus', () => {
  it('renders counters, latency summaries and labels escaped, one sample per line', async () => {
    const c = new StreamMetricsCollector({ streamId: 'exam "1"', model: 'unet', engine: 'onnxruntime', device: 'cpu' });
    c.frameIn();
    c.dropped = 2;
    const text = await renderPrometheus([c.snapshot()]);
    assert.match(text, /^# HELP sgus_frames_in_total /m);
    assert.match(text, /^sgus_frames_in_total\{stream="exam \\"1\\""\} 1$/m);
    assert.match(text, /^sgus_frames_dropped_total\{stream="exam \\"1\\""\} 2$/m);
    assert.match(text, /^sgus_latency_seconds\{stream="exam \\"1\\"",stage="e2e",quantile="0.95"\} 0$/m);
    assert.match(text, /^sgus_model_info\{.*model="unet",engine="onnxruntime",device="cpu"\} 1$/m);
    for (const line of text.trim().split('\n').filter((l) => l !== '')) assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{.*\})? [-+\w.]+)$/);
    assert.match(text, /^# TYPE sgus_latency_seconds summary$/m);
    assert.match(text, /^sgus_latency_seconds_count\{stream="exam \\"1\\"",stage="e2e"\} 0$/m);
    assert.match(text, /^# TYPE sgus_frames_in_total counter$/m);
  });

  it('prints latencies in seconds to 9 significant digits', async () => {
    const c = new StreamMetricsCollector({ streamId: 's', model: 'm', engine: 'e', device: 'd' });
    const m = c.snapshot();
    m.latency.e2e = { p50: 105.9, p95: 0, p99: 0, max: 0, mean: 0, count: 0 };
    assert.match(await renderPrometheus([m]), /^sgus_latency_seconds\{stream="s",stage="e2e",quantile="0.5"\} 0.1059$/m);
  });
});
