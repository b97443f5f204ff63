import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProtoError, ProtoReader, ProtoWriter, Wire } from '../../src/import/protobuf.js';
import { TfDType, decodeGraphDef, encodeGraphDef, readTensor, writeTensor } from '../../src/import/tf-graphdef.js';

describe('protobuf wire format', () => {
  test('varints round-trip, including negative int64 and values above 2^32', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -2, -300, -(2 ** 40)];
    const w = new ProtoWriter();
    for (const v of values) w.int(1, v);
    const r = new ProtoReader(w.finish());
    for (const v of values) {
      assert.deepEqual(r.tag(), [1, Wire.Varint]);
      assert.equal(r.int64(), v);
    }
    assert.ok(r.done);
  });

  test('-1 takes ten bytes on the wire, as protobuf writes it', () => {
    assert.equal(new ProtoWriter().varint(-1).finish().length, 10);
  });

  test('packed and unpacked repeated fields both decode', () => {
    const w = new ProtoWriter();
    w.packedInts(3, [1, 2, 300]);
    w.int(3, 4);
    w.packedFloats(4, [0.5, -2]);
    const r = new ProtoReader(w.finish());
    const ints: number[] = [];
    const floats: number[] = [];
    while (!r.done) {
      const [f, wire] = r.tag();
      if (f === 3) r.repeated(wire, (x) => x.int64(), ints);
      else r.repeated(wire, (x) => x.float(), floats);
    }
    assert.deepEqual(ints, [1, 2, 300, 4]);
    assert.deepEqual(floats, [0.5, -2]);
  });

  test('a length running past the end and a cut varint are errors', () => {
    const w = new ProtoWriter().string(1, 'hello').finish();
    const r = new ProtoReader(w.subarray(0, 4));
    r.tag();
    assert.throws(() => r.bytes(), (e: unknown) => e instanceof ProtoError && /runs past the end/.test(e.message));
    assert.throws(() => new ProtoReader(Uint8Array.of(0x80, 0x80)).uint(), /truncated varint/);
    assert.throws(() => new ProtoReader(Uint8Array.of(0x0f)).skip(7), /wire type 7/);
  });
});

describe('TensorFlow GraphDef codec', () => {
  test('a tensor with fewer float_val values than its shape repeats the last one (TF splat)', () => {
    const w = new ProtoWriter();
    w.int(1, TfDType.float);
    w.message(2, (s) => s.message(2, (d) => d.int(1, 3)));
    w.packedFloats(5, [7]);
    const t = readTensor(new ProtoReader(w.finish()));
    assert.deepEqual(Array.from(t.data), [7, 7, 7]);
  });

  test('tensor_content of int32, int64 and float values round-trips', () => {
    for (const [dtype, data] of [[TfDType.int32, [1, -2, 3]], [TfDType.int64, [2 ** 40, -5, 0]], [TfDType.float, [0.25, -1.5, 3]]] as const) {
      const w = new ProtoWriter();
      writeTensor(w, { dtype, shape: [3], data: Float64Array.from(data) });
      const t = readTensor(new ProtoReader(w.finish()));
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.data), data);
    }
  });

  test('nodes, inputs and attributes survive encode → decode', () => {
    const g = decodeGraphDef(encodeGraphDef({ producer: 38, nodes: [{ name: 'a', op: 'Placeholder', inputs: [], device: '', attr: { dtype: { type: 1 }, shape: { shape: { dims: [-1, 4], unknownRank: false } } } }, { name: 'b', op: 'Relu', inputs: ['a', '^a'], device: '', attr: { T: { type: 1 }, alpha: { f: 0.5 }, flag: { b: true } } }] }));
    assert.equal(g.producer, 38);
    assert.deepEqual(g.nodes.map((n) => [n.name, n.op, n.inputs]), [['a', 'Placeholder', []], ['b', 'Relu', ['a', '^a']]]);
    assert.deepEqual(g.nodes[0]!.attr.shape?.shape?.dims, [-1, 4]);
    assert.equal(g.nodes[1]!.attr.alpha?.f, 0.5);
    assert.equal(g.nodes[1]!.attr.flag?.b, true);
  });
});
