// Attention rollout (Abnar & Zuidema, 2020) as vit-explain computes it for an unreduced model, carried through every
// token method: each block's head-mean attention, as actually used, mixes the rows of the rollout, and then each of the
// block's reorganisations (TokenReorganization, recorded by the method with its own weights) maps the rows onto the
// new sequence. The columns stay the original tokens throughout, so the result is one value per original patch at
// any layer, whatever the method did to the sequence.
import ViTEngine

/// Whose row of the rollout becomes the per-patch map.
public enum RolloutQuery: String, Sendable {
  /// The class token's row (models with a class token).
  case classToken = "class token"
  /// The mean over all token rows (models without a class token, whose head reads every token).
  case tokenMean = "mean of token rows"
}

/// The rollout of one forward pass, per block, over the original patches.
public struct AttentionRollout: Sendable {
  public let grid: GridSize
  public let query: RolloutQuery
  /// Per block: the query row of the rollout up to and including that block (its reduction too), over the original
  /// patches in row-major order; not normalised (the class token's row sums to 1 over all original tokens).
  public let layers: [[Float]]

  /// The rollout after the last block.
  public var final: [Float] { layers.last ?? [] }

  /// Follows the rollout through the blocks `pass` has run.
  public init(pass: ForwardPass) {
    let embedded = pass.embedded
    let prefix = embedded.prefixCount, total = embedded.tokenCount
    grid = embedded.grid
    query = prefix > 0 ? .classToken : .tokenMean
    var r = RolloutMatrix.identity(total)
    var layers: [[Float]] = []
    for record in pass.records {
      r = record.rolloutMixing().times(r)
      for m in record.output.reorganizations { r = r.reorganized(by: m) }
      layers.append(r.queryRow(query, from: prefix))
    }
    self.layers = layers
  }

  /// The final query row alone, without the per-block rows: the same product taken from the left, a row vector
  /// times each block's M and Â from the last block back, so a block costs n² instead of n²·N (`eval --relevance`
  /// runs it on every image).
  public static func finalRow(pass: ForwardPass) -> [Float] {
    let prefix = pass.embedded.prefixCount
    let last = pass.records.last?.output ?? pass.embedded
    let n = last.tokenCount
    var v = prefix > 0 ? (0..<n).map { $0 == 0 ? Float(1) : 0 } : [Float](repeating: 1 / Float(n), count: n)
    for record in pass.records.reversed() {
      for m in record.output.reorganizations.reversed() {
        v = (0..<m.inputCount).map { t in m.destination[t] >= 0 ? v[Int(m.destination[t])] * m.weight[t] : 0 }
      }
      let a = record.rolloutMixing()  // tokensIn x tokensIn
      var out = [Float](repeating: 0, count: a.cols)
      for i in 0..<a.rows where v[i] != 0 {
        let w = v[i]
        for j in 0..<a.cols { out[j] += w * a[i, j] }
      }
      v = out
    }
    return Array(v[prefix...])
  }

  /// `values` divided by their maximum (all zeros stay zeros): the form `report` prints.
  public static func maxNormalised(_ values: [Float]) -> [Float] {
    let m = values.max() ?? 0
    return m > 0 ? values.map { $0 / m } : values
  }

  /// The share of `baseline`'s rollout mass (one value per patch) on patches whose own token is still in the
  /// sequence (`kept`, or `idle`: skipped by a block but not merged away, fused or pruned); nil when the grids differ
  /// or the baseline has no mass.
  public static func relevanceKept(baseline: [Float], states: [PatchState]) -> Float? {
    guard baseline.count == states.count else { return nil }
    var all: Float = 0, kept: Float = 0
    for (v, s) in zip(baseline, states) {
      all += v
      if s == .kept || s == .idle { kept += v }
    }
    return all > 0 ? kept / all : nil
  }
}

extension BlockRecord {
  /// This block's attention averaged over heads, probabilities as used (proportional-attention bias included),
  /// queries x keys, row-major.
  public var headMeanAttention: [Float] {
    let count = queries * keys
    var mean = [Float](repeating: 0, count: count)
    probabilities.withUnsafeBufferPointer { p in
      for h in 0..<heads {
        let base = p.baseAddress! + h &* count
        for i in 0..<count { mean[i] += base[i] }
      }
    }
    let scale = 1 / Float(heads)
    return mean.map { $0 * scale }
  }

  /// Â = 0.5·A + 0.5·I over the block's input tokens, rows renormalised, with A the head-mean attention written over
  /// tokens: a token that sat the block out (select phase) has the identity row, and a key shared by a group of
  /// tokens (keyValues phase) splits its attention evenly over the group, since its key and value are the group's
  /// mean.
  func rolloutMixing() -> RolloutMatrix {
    let n = tokensIn, a = headMeanAttention
    var m = RolloutMatrix(rows: n, cols: n)
    if let active = activeTokens {
      var isActive = [Bool](repeating: false, count: n)
      for (i, t) in active.enumerated() {
        isActive[t] = true
        for (j, u) in active.enumerated() { m[t, u] = a[i * keys + j] }
      }
      for t in 0..<n where !isActive[t] { m[t, t] = 1 }
    } else if let groups = keyGroups {
      var members = [Float](repeating: 0, count: keys)
      for g in groups { members[Int(g)] += 1 }
      for i in 0..<n { for (t, g) in groups.enumerated() { m[i, t] = a[i * keys + Int(g)] / members[Int(g)] } }
    } else {
      for i in 0..<n { for j in 0..<n { m[i, j] = a[i * keys + j] } }
    }
    for i in 0..<n {
      m[i, i] += 1  // 0.5·A + 0.5·I with the common factor dropped: the row normalisation removes it
      var sum: Float = 0
      for j in 0..<n { sum += m[i, j] }
      for j in 0..<n { m[i, j] /= sum }
    }
    return m
  }
}

/// A dense row-major matrix for the rollout: rows are the current tokens, columns the original ones.
struct RolloutMatrix {
  let rows: Int, cols: Int
  var data: [Float]

  init(rows: Int, cols: Int) {
    self.rows = rows; self.cols = cols
    data = [Float](repeating: 0, count: rows * cols)
  }

  static func identity(_ n: Int) -> RolloutMatrix {
    var m = RolloutMatrix(rows: n, cols: n)
    for i in 0..<n { m[i, i] = 1 }
    return m
  }

  subscript(i: Int, j: Int) -> Float {
    get { data[i * cols + j] }
    set { data[i * cols + j] = newValue }
  }

  /// self · other. self: n x k, other: k x m, result: n x m; i-k-j order so the inner loop runs along rows, and
  /// rows split over the pool (each writes only its own output row; the same sums as serially).
  func times(_ other: RolloutMatrix) -> RolloutMatrix {
    precondition(cols == other.rows, "rollout: \(rows)x\(cols) · \(other.rows)x\(other.cols)")
    var out = RolloutMatrix(rows: rows, cols: other.cols)
    let k = cols, m = other.cols
    data.withUnsafeBufferPointer { a in
      other.data.withUnsafeBufferPointer { b in
        out.data.withUnsafeMutableBufferPointer { c in
          let ap = SendablePointer(UnsafeMutablePointer(mutating: a.baseAddress!))
          let bp = SendablePointer(UnsafeMutablePointer(mutating: b.baseAddress!)), cp = SendablePointer(c.baseAddress!)
          ThreadPool.shared.parallelRanges(rows, minChunk: 8, chunksPerThread: 2) { range in
            for i in range {
              let ci = cp.p + i &* m
              for p in 0..<k {
                let w = ap.p[i &* k &+ p]
                if w == 0 { continue }
                let row = bp.p + p &* m
                for j in 0..<m { ci[j] += w * row[j] }
              }
            }
          }
        }
      }
    }
    return out
  }

  /// M · self for a recorded reorganisation M (outputCount x inputCount, one entry per column).
  func reorganized(by m: TokenReorganization) -> RolloutMatrix {
    precondition(m.inputCount == rows, "rollout: reorganisation of \(m.inputCount) tokens applied to \(rows)")
    var out = RolloutMatrix(rows: m.outputCount, cols: cols)
    for t in 0..<rows {
      let d = Int(m.destination[t])
      guard d >= 0 else { continue }
      let w = m.weight[t]
      for j in 0..<cols { out.data[d * cols + j] += w * data[t * cols + j] }
    }
    return out
  }

  /// The query row restricted to the patch columns (those after the `prefix` prefix tokens).
  func queryRow(_ query: RolloutQuery, from prefix: Int) -> [Float] {
    switch query {
    case .classToken:
      return Array(data[prefix..<cols])
    case .tokenMean:
      var mean = [Float](repeating: 0, count: cols - prefix)
      for i in 0..<rows { for j in prefix..<cols { mean[j - prefix] += data[i * cols + j] } }
      return mean.map { $0 / Float(Swift.max(rows, 1)) }
    }
  }
}
