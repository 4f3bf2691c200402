// WebGPU (Dawn) against the CPU on the bundled model. Without a GPU it runs on SwiftShader, the
// Vulkan software renderer that Debian's chromium package ships (DESIGN.md section 3).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const haveGpuStack = existsSync(SWIFTSHADER) || process.env.PTUNE_TEST_WEBGPU === '1';
if (existsSync(SWIFTSHADER) && !process.env.VK_ICD_FILENAMES) {
  process.env.VK_ICD_FILENAMES = SWIFTSHADER;
  process.env.XDG_RUNTIME_DIR ??= join(tmpdir(), 'ptune-xdg');
  mkdirSync(process.env.XDG_RUNTIME_DIR, { recursive: true });
}

describe('WebGPU matches the CPU', { skip: haveGpuStack ? false : `no Vulkan driver (install Debian's chromium for SwiftShader at ${SWIFTSHADER})` }, () => {
  it('loss, gradient and logits on stories260K within 1e-4', async () => {
    const { openModel } = await import('../src/models/load.js');
    const { storiesDir } = await import('./helpers.js');
    const notes: string[] = [];
    const gpu = await openModel(storiesDir, { kind: 'causal', device: 'webgpu', log: (m) => notes.push(m) });
    const cpu = await openModel(storiesDir, { kind: 'causal', device: 'cpu' });
    const ids = cpu.tokenizer!.encode('Once upon a time, there was a little girl');
    const prompt = { length: 3, dim: 64, data: Float32Array.from({ length: 192 }, (_, i) => Math.sin(i) * 0.3) };
    const a = await gpu.lossAndGradient([{ ids, targetStart: 1 }, { ids: ids.slice(0, 6), targetStart: 2 }], prompt);
    assert.equal(await gpu.device(), 'webgpu', notes.join('\n'));
    const b = await cpu.lossAndGradient([{ ids, targetStart: 1 }, { ids: ids.slice(0, 6), targetStart: 2 }], prompt);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `loss ${a.loss} vs ${b.loss}`);
    let maxDiff = 0;
    for (let i = 0; i < a.grad.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.grad[i] - b.grad[i]));
    assert.ok(maxDiff < 1e-4, `gradient differs by ${maxDiff}`);
    const la = await gpu.logitsAt(ids, ids.length - 1);
    const lb = await cpu.logitsAt(ids, ids.length - 1);
    let logitDiff = 0;
    for (let i = 0; i < la.length; i++) logitDiff = Math.max(logitDiff, Math.abs(la[i] - lb[i]));
    assert.ok(logitDiff < 1e-3, `logits differ by ${logitDiff}`);
    // rank classification from the prefix's cache, and generation continuing from it
    const items = [
      { prefix: ids.slice(0, 5), choices: [{ ids: ids.slice(5, 7), scoreFrom: 0 }, { ids: [286], scoreFrom: 0 }] },
      { prefix: ids.slice(0, 3), choices: [{ ids: ids.slice(3, 6), scoreFrom: 1 }, { ids: [286], scoreFrom: 0 }] },
    ];
    const sa = await gpu.scoreChoices(items, prompt, { maxNewTokens: 3 });
    const sb = await cpu.scoreChoices(items, prompt, { maxNewTokens: 3 });
    sa.scores.flat().forEach((v, i) => assert.ok(Math.abs(v - sb.scores.flat()[i]) < 1e-3, `choice ${i}: ${v} vs ${sb.scores.flat()[i]}`));
    assert.deepEqual(sa.generated, sb.generated);
    await gpu.dispose();
    await cpu.dispose();
  });

  it('precision auto stays float32 on a device without half-precision kernels; fp16 says why it cannot run there', async () => {
    const { openModel } = await import('../src/models/load.js');
    const { supportsHalf } = await import('../src/engine/runtime.js');
    const { storiesDir } = await import('./helpers.js');
    const half = await supportsHalf('webgpu');
    const auto = await openModel(storiesDir, { kind: 'causal', device: 'webgpu', precision: 'auto' });
    assert.equal(await auto.device(), 'webgpu');
    assert.equal(auto.precision, half ? 'fp16' : 'fp32');
    await auto.dispose();
    if (!half) {
      const notes: string[] = [];
      const forced = await openModel(storiesDir, { kind: 'causal', device: 'webgpu', precision: 'fp16', log: (m) => notes.push(m) });
      assert.equal(await forced.device(), 'cpu');
      assert.match(notes.join('\n'), /webgpu unavailable: this webgpu device has no half-precision kernels .*use precision fp32 or auto; fell back to the CPU/);
      await forced.dispose();
    }
  });
});
