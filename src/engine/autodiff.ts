// Reverse mode over the tape: walks the recorded ops backwards from a scalar and emits the
// gradient of each requested value as ONNX nodes in the same graph.
import { onnxTypeOf, type Tensor } from './graph.js';
import { zerosLike } from './ops/shape.js';

export function gradients(loss: Tensor, wrt: Tensor[]): Tensor[] {
  const g = loss.graph;
  const grads = new Map<string, Tensor>();
  grads.set(loss.name, g.node('ConstantOfShape', [g.node('Shape', [loss], {}, [{ dtype: 'int64', shape: [loss.rank] }])[0]], {
    value: { tensor: { name: '', dims: [1], dataType: onnxTypeOf(loss.dtype === 'float64' ? 'float64' : 'float32'), rawData: new Uint8Array(loss.dtype === 'float64' ? new Float64Array([1]).buffer : new Float32Array([1]).buffer) } },
  }, [{ dtype: loss.dtype, shape: loss.shape }])[0]);

  for (let i = g.tape.length - 1; i >= 0; i--) {
    const entry = g.tape[i];
    const gradOutputs = entry.outputs.map((o) => grads.get(o.name));
    if (gradOutputs.every((x) => x === undefined)) continue;
    const gradInputs = entry.backward(gradOutputs);
    entry.inputs.forEach((input, k) => {
      const gi = gradInputs[k];
      if (!gi || !input.requiresGrad) return;
      const previous = grads.get(input.name);
      grads.set(input.name, previous ? g.node('Add', [previous, gi], {}, [{ dtype: input.dtype, shape: input.shape }])[0] : gi);
    });
  }
  return wrt.map((w) => grads.get(w.name) ?? zerosLike(w));
}
