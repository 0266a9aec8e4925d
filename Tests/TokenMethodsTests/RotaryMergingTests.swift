// Token methods on the rotary families (EVA02, DINOv3; Tests/Fixtures/backbones.py). Where RoPE puts a merged token
// is a reconstruction ([recon], ToMe article): the size-weighted mean of its patches' grid coordinates. These tests
// hold the engine to that rule and to its consequence for everything else: a token that takes part in no merge keeps
// its own coordinates, so its block output is the plain block computation at its own position. The reference here is
// a block written out in Double from the formulas of RotaryEmbedding.swift and timm's Eva block (EvaBlock), run on the
// merged sequence.
import Foundation
import Testing
import TestSupport
@testable import TokenMethods
@testable import ViTEngine

/// Merges patch tokens `a` and `b` (indices into the sequence) at the end of block 0: the mean of the two, at `a`'s
/// place; every other token is copied.
struct MergePair: TokenPolicy {
  let a: Int, b: Int
  func reduceOutput(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    guard block == 0 else { return PolicyOutcome() }
    let n = state.tokenCount, c = state.x.cols
    var newIndex = [Int](), fate = [TokenFate]()
    var next = 0
    for t in 0..<n {
      if t == b { newIndex.append(-2); fate.append(.merged) } else { newIndex.append(next); fate.append(.stays); next += 1 }
    }
    newIndex[b] = newIndex[a]
    var x = Matrix(rows: n - 1, cols: c), size = [Float](repeating: 0, count: n - 1)
    for t in 0..<n where t != b {
      for j in 0..<c { x.data[newIndex[t] * c + j] = state.x.data[t * c + j] }
      size[newIndex[t]] = state.size[t]
    }
    let wa = state.size[a], wb = state.size[b]
    for j in 0..<c { x.data[newIndex[a] * c + j] = (wa * state.x.data[a * c + j] + wb * state.x.data[b * c + j]) / (wa + wb) }
    size[newIndex[a]] = wa + wb
    state.reorganize(x: x, size: size, newIndex: newIndex, fate: fate, weights: state.size)
    return PolicyOutcome(event: "merged \(b) into \(a)")
  }
}

/// One block of timm's Eva class in Double: x + ls1·proj(attnNorm(attn(rope(q), rope(k), v))), then
/// x + ls2·fc2(mlpNorm(silu(gate)·up or gelu(fc1))). Token t ≥ prefix is rotated at `position[2t], position[2t+1]`.
func evaBlockReference(_ b: BlockWeights, rope: RotaryEmbedding, activation: Activation, x: Matrix, prefix: Int,
                       position: [Float], grid: GridSize) -> [Float] {
  let n = x.rows, c = x.cols, a = b.attentionWidth, d = b.headDim, f = b.mlpHidden
  func norm(_ v: [Double], _ w: LayerNormWeights) -> [Double] {
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
    return v.indices.map { ($0, (v[$0] - mean) / (variance + Double(w.eps)).squareRoot()) }.map { Double(w.gamma[$0.0]) * $0.1 + Double(w.beta[$0.0]) }
  }
  func linear(_ v: [Double], _ l: LinearLayer) -> [Double] {
    let (w, bias) = l.dense
    return (0..<l.outFeatures).map { j in (0..<l.inFeatures).reduce(Double(bias?[j] ?? 0)) { $0 + Double(w[j * l.inFeatures + $1]) * v[$1] } }
  }
  func angle(_ t: Int, _ p: Int) -> Double {
    let bands = d / 4, i = Double(p % bands)
    let axis = (p < bands) != rope.columnsFirst ? 0 : 1
    let index = Double(position[2 * t + axis]), count = Double(axis == 0 ? grid.rows : grid.cols)
    switch rope.kind {
    case .eva:
      let reference = rope.referenceGrid.map { Double(axis == 0 ? $0.rows : $0.cols) }
      let u = (index + Double(rope.gridOffset)) * (reference.map { $0 / count } ?? 1)
      return u * pow(Double(rope.temperature), -i / Double(bands))
    case .dinov3:
      return 2 * Double.pi * (2 * (index + 0.5) / count - 1) / pow(Double(rope.temperature), 2 * i / Double(d / 2))
    }
  }
  let rows = (0..<n).map { t in (0..<c).map { Double(x.data[t * c + $0]) } }
  var q: [[Double]] = [], k: [[Double]] = [], v: [[Double]] = []
  for t in 0..<n {
    let y = linear(norm(rows[t], b.norm1), b.qkv)
    var qt = Array(y[0..<a]), kt = Array(y[a..<(2 * a)])
    if t >= prefix {
      for h in 0..<(a / d) {
        for p in 0..<(d / 2) {
          let (i, j) = rope.halfSplit ? (h * d + p, h * d + p + d / 2) : (h * d + 2 * p, h * d + 2 * p + 1)
          let th = angle(t, p)
          (qt[i], qt[j]) = (qt[i] * cos(th) - qt[j] * sin(th), qt[j] * cos(th) + qt[i] * sin(th))
          (kt[i], kt[j]) = (kt[i] * cos(th) - kt[j] * sin(th), kt[j] * cos(th) + kt[i] * sin(th))
        }
      }
    }
    q.append(qt); k.append(kt); v.append(Array(y[(2 * a)...]))
  }
  var out: [Float] = []
  for t in 0..<n {
    var attended = [Double](repeating: 0, count: a)
    for h in 0..<(a / d) {
      let logits = (0..<n).map { s in (0..<d).reduce(0.0) { $0 + q[t][h * d + $1] * k[s][h * d + $1] } / Double(d).squareRoot() }
      let top = logits.max()!, e = logits.map { exp($0 - top) }, z = e.reduce(0, +)
      for s in 0..<n { for j in 0..<d { attended[h * d + j] += e[s] / z * v[s][h * d + j] } }
    }
    if let w = b.attentionNorm { attended = norm(attended, w) }
    let projected = linear(attended, b.proj)
    var r = rows[t]
    for j in 0..<c { r[j] += Double(b.layerScale1?[j] ?? 1) * projected[j] }
    let y = norm(r, b.norm2)
    let up = linear(y, b.fc1)
    var hidden: [Double]
    if let g = b.gate {
      hidden = zip(linear(y, g), up).map { $0 / (1 + exp(-$0)) * $1 }
    } else {
      precondition(activation == .gelu, "the reference runs SwiGLU or exact GELU")
      hidden = up.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
    }
    #expect(hidden.count == f)
    if let w = b.mlpNorm { hidden = norm(hidden, w) }
    let mlp = linear(hidden, b.fc2)
    for j in 0..<c { r[j] += Double(b.layerScale2?[j] ?? 1) * mlp[j] }
    out += r.map { Float($0) }
  }
  return out
}

@Suite("Token methods on rotary families")
struct RotaryMergingTests {
  static let families = ["eva02_tiny", "eva02_clip", "dinov3", "dinov3_plus"]

  @Test("a merged token sits at its patches' size-weighted mean; the others are the plain block", arguments: families)
  func mergedCoordinates(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let rope = try #require(model.backbone.rope)
    let input = try loadInput(fixture)
    let p = model.prefixCount, grid = GridSize(rows: input.height / model.shape.patchSize, cols: input.width / model.shape.patchSize)
    // Patch 0 (cell 0, 0) and patch cols + 1 (cell 1, 1) merge; the token of patch 2 (cell 0, 2) takes no part.
    let a = p, b = p + grid.cols + 1, alone = p + 2
    let merged = ForwardPass(model: model, input: input, policy: MergePair(a: a, b: b))
    merged.run()
    let baseline = ForwardPass(model: model, input: input)
    baseline.run()
    let after = merged.records[0].output
    #expect(after.tokenCount == baseline.records[0].output.tokenCount - 1)
    #expect(Array(after.position[(2 * a)..<(2 * a + 2)]) == [0.5, 0.5], "the sizes are 1 and 1: the midpoint")
    let aloneAfter = alone  // b comes after it, so its index does not change
    #expect(Array(after.position[(2 * aloneAfter)..<(2 * aloneAfter + 2)]) == [0, 2])
    // Block 1 on the merged sequence against the Double reference at those coordinates, every token.
    let want = evaBlockReference(model.blocks[1], rope: rope, activation: model.backbone.activation, x: after.x, prefix: p,
                                 position: after.position, grid: grid)
    expectClose(merged.records[1].output.x.data, want, "\(fixture) block 1 after a merge")
    // The untouched token's rotated key is bit for bit the baseline's: same features, same coordinates.
    let keys = merged.records[1].keyVectors, base = baseline.records[1].keyVectors
    #expect(keys.row(aloneAfter) == base.row(alone))
    // Prefix tokens carry no rotation: the class token's key is the unrotated projection in both runs.
    #expect(keys.row(0) == base.row(0))
  }

  @Test("ToMe, EViT, IdleViT and ClusTR run and reduce, prefix untouched", arguments: families)
  func methodsReduceTokens(fixture: String) throws {
    let model = try ModelLoader.load(path: modelFixture(fixture))
    let input = try loadInput(fixture)
    let p = model.prefixCount
    for spec in ["tome:r=8", "evit:keep=0.7,layers=0/1", "idle:keep=0.5,layers=0-1", "clustr:clusters=5,k=3,layers=0/1"] {
      let pass = ForwardPass(model: model, input: input, policy: try MethodSpec.parse(spec).makePolicy(depth: model.depth))
      let prediction = pass.output()
      #expect(prediction.preLogits.allSatisfy(\.isFinite) && (prediction.logits ?? []).allSatisfy(\.isFinite), "\(fixture) \(spec)")
      let last = pass.records[model.depth - 1].output
      if spec.hasPrefix("tome") || spec.hasPrefix("evit") {
        #expect(last.tokenCount < p + pass.grid.count, "\(fixture) \(spec) reduces tokens")
      }
      // Both act in blocks 0 and 1 only.
      if spec.hasPrefix("idle") { #expect(pass.records.prefix(2).allSatisfy { $0.queries < $0.tokensIn }, "\(fixture) \(spec) idles tokens") }
      if spec.hasPrefix("clustr") { #expect(pass.records.prefix(2).allSatisfy { $0.keys < $0.tokensIn }, "\(fixture) \(spec) groups keys") }
      for record in pass.records {
        // Prefix tokens are never merged, pruned or idled: no patch lands on them, they keep size 1, and they run.
        #expect(record.output.patchToken.allSatisfy { $0 < 0 || $0 >= p }, "\(fixture) \(spec)")
        #expect(record.output.size[0..<p].allSatisfy { $0 == 1 }, "\(fixture) \(spec)")
        if let active = record.activeTokens { #expect(Array(active.prefix(p)) == Array(0..<p), "\(fixture) \(spec)") }
      }
    }
  }

  @Test func upViTRefusesAnAttentionNormAndScoresTheOthers() throws {
    let clip = try ModelLoader.load(path: modelFixture("eva02_clip"))
    #expect(throws: UPViTError.self) {
      _ = try UPViTScorer.score(model: clip, inputs: [try loadInput("eva02_clip")], calibration: "fixture", threads: 1)
    }
    let tiny = try ModelLoader.load(path: modelFixture("eva02_tiny"))
    let scores = try UPViTScorer.score(model: tiny, inputs: [try loadInput("eva02_tiny")], calibration: "fixture", threads: 1)
    #expect(scores.mlp.count == tiny.depth && scores.mlp[0].count == tiny.blocks[0].mlpHidden)
    #expect(scores.mlp.joined().allSatisfy(\.isFinite) && scores.mlp.joined().contains { $0 > 0 })
  }
}
