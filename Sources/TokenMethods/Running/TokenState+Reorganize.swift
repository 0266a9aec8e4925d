// The shared bookkeeping of every method that changes the sequence: given where each old token goes, update
// provenance (which token holds each patch) and patch states. Methods compute the new features and sizes; this keeps
// the maps consistent with them.
import ViTEngine

/// The rule every method that merges or fuses tokens follows on a model with rotary position embeddings; what the
/// papers leave open (they were written for ViTs with a position table), shown in each method's help.
let rotaryMergeNote = "rotary models (EVA02, DINOv3): a merged or fused token is rotated at the size-weighted mean of its patches' grid coordinates; kept and idle tokens keep their own"
/// ClusTR's counterpart: its keys come from cluster means.
let rotaryGroupNote = "rotary models (EVA02, DINOv3): a cluster's key is rotated at the mean of its members' grid coordinates, the same mean its features take"

/// What happens to an old token's patches.
enum TokenFate {
  /// The token survives as itself (its patches keep their state).
  case stays
  /// The token is merged into another (ToMe, MSTM): its patches become `merged`.
  case merged
  /// The token is folded into EViT's fused token: its patches become `fused`.
  case fused
  /// The token is dropped: its patches become `pruned` and are held by no token.
  case pruned
}

extension TokenState {
  /// Replaces the sequence with `x`/`size`, where old token t now lives at `newIndex[t]` (-1 when pruned), and
  /// records the reorganisation for attribution: `weights[t]` is old token t's weight in its new token, before the
  /// new token's weights are normalised to sum 1.
  mutating func reorganize(x newX: Matrix, size newSize: [Float], newIndex: [Int], fate: [TokenFate], weights: [Float]) {
    precondition(newIndex.count == tokenCount && fate.count == tokenCount, "reorganize: \(newIndex.count) indices for \(tokenCount) tokens")
    precondition(newSize.count == newX.rows, "reorganize: \(newSize.count) sizes for \(newX.rows) tokens")
    for p in 0..<patchToken.count {
      let t = Int(patchToken[p])
      guard t >= 0 else { continue }
      patchToken[p] = Int32(newIndex[t])
      switch fate[t] {
      case .stays: break
      case .merged: if patchState[p] == .kept { patchState[p] = .merged }
      case .fused: patchState[p] = .fused
      case .pruned: patchState[p] = .pruned; patchToken[p] = -1
      }
    }
    reorganizations.append(TokenReorganization(outputCount: newX.rows, destination: newIndex, rawWeight: weights))
    // Rotary coordinates follow the patches by size, whatever weights the method gave the features ([recon]).
    position = positions(after: newIndex, count: newX.rows)
    x = newX
    size = newSize
  }
}

extension Matrix {
  /// Weighted means of this matrix's rows into `count` groups: row t joins group newIndex[t] (skipped when -1) with
  /// weight `weight(t)`; returns the group means (count x cols) and each group's weight sum. Rows are summed in order,
  /// then divided once, by the weight sum plus `epsilon` (0 except in DToMe's calibration, which reproduces the
  /// official batch path's 1e-4).
  func weightedMeans(into count: Int, newIndex: [Int], epsilon: Float = 0,
                     weight: (Int) -> Float) -> (means: Matrix, weightSums: [Float]) {
    let c = cols
    var means = Matrix(rows: count, cols: c)
    var sums = [Float](repeating: 0, count: count)
    data.withUnsafeBufferPointer { xp in
      means.data.withUnsafeMutableBufferPointer { op in
        for t in 0..<rows where newIndex[t] >= 0 {
          let dst = newIndex[t], w = weight(t)
          sums[dst] += w
          let out = op.baseAddress! + dst &* c, src = xp.baseAddress! + t &* c
          for j in 0..<c { out[j] += w * src[j] }
        }
        for g in 0..<count {
          let out = op.baseAddress! + g &* c, total = sums[g] + epsilon
          for j in 0..<c { out[j] /= total }
        }
      }
    }
    return (means, sums)
  }
}
