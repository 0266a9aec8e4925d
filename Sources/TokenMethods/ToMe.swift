// ToMe: Token Merging (Bolya et al., ICLR 2023). ref: facebookresearch/ToMe tome/merge.py (bipartite_soft_matching,
// merge_wavg), tome/patch/timm.py (ToMeBlock, ToMeAttention), tome/utils.py (parse_r); methods.md §6.
//
// In every block, between attention and MLP: the keys averaged over heads are L2-normalised; tokens alternate into
// sets A (even positions) and B (odd); each A token finds its most similar B token; the r A tokens with the highest
// similarity merge into their B partners with size-weighted averages. Prefix tokens (CLS, distillation, registers)
// are protected. Proportional attention adds log(size) to the logits of every block.
// Unlike ToMe's own timm patch, LayerScale (ls1/ls2) is applied: the merge reads x after the scaled residual.
import ViTEngine

public struct ToMePolicy: TokenPolicy {
  /// Tokens to merge in each block (already expanded from the schedule).
  public let schedule: [Int]
  public let proportionalAttention: Bool

  public init(r: Int, depth: Int, decreasing: Bool, proportionalAttention: Bool) {
    self.schedule = ToMePolicy.parseR(r: r, depth: depth, inflection: decreasing ? -1 : 0)
    self.proportionalAttention = proportionalAttention
  }

  /// tome/utils.py parse_r: a linear schedule from int(r(1-i)) to 2r - that over the blocks (i = 0: constant r).
  public static func parseR(r: Int, depth: Int, inflection: Double) -> [Int] {
    let minVal = Int(Double(r) * (1 - inflection))
    let maxVal = 2 * r - minVal
    let step = depth > 1 ? Double(maxVal - minVal) / Double(depth - 1) : 0
    return (0..<depth).map { Int(Double(minVal) + step * Double($0)) }
  }

  public func usesProportionalAttention(block: Int, state: TokenState) -> Bool { proportionalAttention }

  public func reduce(block: Int, state: inout TokenState, attention: AttentionView) -> PolicyOutcome {
    let n = state.tokenCount, prefix = state.prefixCount
    let requested = block < schedule.count ? schedule[block] : 0
    let r = min(requested, (n - prefix) / 2)
    guard r > 0 else { return PolicyOutcome(event: requested > 0 ? "nothing left to merge" : nil) }

    // Metric: keys averaged over heads, L2-normalised per token.
    var metric = attention.meanKeys()
    let d = metric.cols
    let setA = Array(stride(from: 0, to: n, by: 2)), setB = Array(stride(from: 1, to: n, by: 2))
    // Best B partner for every A token; protected tokens neither merge (A rows) nor receive (B columns).
    // Pointer loops with SIMD dot products (the scalar version cost about 2 ms per DeiT-S image, 4% of a ToMe pass).
    var best = [Float](repeating: -.infinity, count: setA.count)
    var partner = [Int](repeating: 0, count: setA.count)
    // A rows are split over the pool (each writes only its own best and partner; the same sums as serially).
    metric.data.withUnsafeMutableBufferPointer { mp in
      let m = mp.baseAddress!
      for t in 0..<n { normalizeRow(m + t &* d, count: d) }
      best.withUnsafeMutableBufferPointer { bestP in
        partner.withUnsafeMutableBufferPointer { partnerP in
          let metricP = SendablePointer(m), bestQ = SendablePointer(bestP.baseAddress!)
          let partnerQ = SendablePointer(partnerP.baseAddress!)
          let countA = setA.count, countB = setB.count  // setA[ai] = 2 ai, setB[bi] = 2 bi + 1
          ThreadPool.shared.parallelRanges(countA, minChunk: 16, chunksPerThread: 2) { range in
            for ai in range where 2 &* ai >= prefix {
              let pa = metricP.p + 2 &* ai &* d
              var bestS = bestQ.p[ai], bestB = partnerQ.p[ai]
              for bi in 0..<countB where 2 &* bi &+ 1 >= prefix {
                let s = dotProduct(pa, metricP.p + (2 &* bi &+ 1) &* d, count: d)
                if s > bestS { bestS = s; bestB = bi }  // first maximum, as torch.max
              }
              bestQ.p[ai] = bestS; partnerQ.p[ai] = bestB
            }
          }
        }
      }
    }
    // The r most similar A tokens merge (stable descending sort, so ties keep the lower index).
    let order = setA.indices.sorted { best[$0] > best[$1] || (best[$0] == best[$1] && $0 < $1) }
    let sources = Set(order.prefix(r))

    // New order: prefix tokens, unmerged A tokens (original order), then all B tokens (original order).
    let c = state.x.cols
    var newIndex = [Int](repeating: -1, count: n)
    var fate = [TokenFate](repeating: .stays, count: n)
    var next = 0
    for t in 0..<prefix { newIndex[t] = next; next += 1 }
    for (ai, a) in setA.enumerated() where a >= prefix && !sources.contains(ai) { newIndex[a] = next; next += 1 }
    for b in setB where b >= prefix { newIndex[b] = next; next += 1 }
    for ai in sources { newIndex[setA[ai]] = newIndex[setB[partner[ai]]]; fate[setA[ai]] = .merged }
    let newCount = n - r
    // Size-weighted average (merge_wavg): x' = sum(size * x) / sum(size), size' = sum(size).
    var weighted = Matrix(rows: newCount, cols: c)
    var newSize = [Float](repeating: 0, count: newCount)
    state.x.data.withUnsafeBufferPointer { xp in
      weighted.data.withUnsafeMutableBufferPointer { wp in
        for t in 0..<n {
          let dst = newIndex[t], s = state.size[t]
          newSize[dst] += s
          let out = wp.baseAddress! + dst &* c, src = xp.baseAddress! + t &* c
          for j in 0..<c { out[j] += s * src[j] }
        }
        for t in 0..<newCount {
          let out = wp.baseAddress! + t &* c, size = newSize[t]
          for j in 0..<c { out[j] /= size }
        }
      }
    }
    state.reorganize(x: weighted, size: newSize, newIndex: newIndex, fate: fate)
    let matching = setA.count * setB.count * d  // the A·Bᵀ similarity matmul, counted as fvcore counts a matmul
    return PolicyOutcome(event: "merged \(r) of \(n) tokens into their most similar partners by key similarity; \(newCount) remain",
                         extraMACs: matching)
  }
}

/// Scales a row to unit L2 norm (the norm summed in order, as before).
@inline(__always)
func normalizeRow(_ row: UnsafeMutablePointer<Float>, count d: Int) {
  var norm: Float = 0
  for c in 0..<d { norm += row[c] * row[c] }
  let inv = 1 / norm.squareRoot()
  for c in 0..<d { row[c] *= inv }
}

/// a · b over `count` floats: SIMD8 with two accumulators, scalar tail.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
  var s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
  var i = 0
  while i &+ 16 <= count {
    s0 = s0.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
    s1 = s1.addingProduct(UnsafeRawPointer(a + (i &+ 8)).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + (i &+ 8)).loadUnaligned(as: SIMD8<Float>.self))
    i &+= 16
  }
  if i &+ 8 <= count {
    s0 = s0.addingProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                          UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
    i &+= 8
  }
  let v = s0 + s1
  let h = v.lowHalf + v.highHalf
  var s = (h[0] + h[2]) + (h[1] + h[3])
  while i < count { s += a[i] * b[i]; i &+= 1 }
  return s
}
