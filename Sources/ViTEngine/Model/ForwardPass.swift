// The steppable forward pass. It runs one block at a time and keeps, per block, the token state, the attention
// probabilities actually used and the keys, so a viewer can step forward and back without recomputing, and so
// the token method (the TokenPolicy) can act between attention and MLP.
// ref: timm/models/vision_transformer.py Block.forward, Attention.forward, VisionTransformer.forward_features/head.

/// A preprocessed image: planar channels x height x width, already normalised.
public struct ModelInput: Sendable {
  public let channels: Int, height: Int, width: Int
  public let pixels: [Float]
  public init(channels: Int, height: Int, width: Int, pixels: [Float]) {
    precondition(pixels.count == channels * height * width, "ModelInput: \(pixels.count) values for \(channels)x\(height)x\(width)")
    self.channels = channels; self.height = height; self.width = width; self.pixels = pixels
  }
}

/// Everything recorded for one block.
public struct BlockRecord: Sendable {
  public let index: Int
  public let tokensIn: Int
  public let tokensOut: Int
  /// The token state after the block.
  public let output: TokenState
  public let heads: Int, headDim: Int
  /// Queries and keys of this block's attention (equal unless a method changes what attends to what).
  public let queries: Int, keys: Int
  /// heads x queries x keys, the probabilities actually used.
  public let probabilities: [Float]
  /// keys x (heads * headDim).
  public let keyVectors: Matrix
  /// When only some tokens took part (IdleViT): the token index behind each query row and key column; nil for all.
  public let activeTokens: [Int]?
  /// When keys and values came from groups of tokens (ClusTR): each input token's group, i.e. its key column.
  public let keyGroups: [Int32]?
  public let macs: BlockMACs
  /// Mean row entropy and CLS-row entropy per head, in nats.
  public let entropy: [Float], classEntropy: [Float]
  public let event: String?

  /// CLS attention over the keys for one head, or averaged over heads when `head` is nil.
  public func classAttention(head: Int? = nil) -> [Float] {
    if let head { return Array(probabilities[(head * queries * keys)..<(head * queries * keys + keys)]) }
    var mean = [Float](repeating: 0, count: keys)
    for h in 0..<heads { for j in 0..<keys { mean[j] += probabilities[h * queries * keys + j] } }
    return mean.map { $0 / Float(heads) }
  }
}

/// Classifier output.
public struct Prediction: Sendable {
  /// The final-norm CLS vector.
  public let classFeatures: [Float]
  /// nil for headless models.
  public let logits: [Float]?
  public func top(_ k: Int) -> [(index: Int, probability: Float)] {
    guard let logits else { return [] }
    let m = logits.max() ?? 0
    let e = logits.map { Foundationless.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.enumerated().map { ($0.offset, $0.element / s) }.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
      .prefix(k).map { (index: $0.0, probability: $0.1) }
  }
}

public final class ForwardPass {
  public let model: ViTModel
  public let policy: any TokenPolicy
  public let grid: GridSize
  /// The state after patch embedding, prefix tokens and position embeddings.
  public let embedded: TokenState
  public private(set) var records: [BlockRecord] = []
  private var current: TokenState
  /// When set, every op of every block run adds its wall-clock time here (`tokenscope bench --profile`).
  public var profile: OpProfile?

  public init(model: ViTModel, input: ModelInput, policy: any TokenPolicy = NoReduction()) {
    _ = EngineMemory.configured
    self.model = model
    self.policy = policy
    let shape = model.shape
    precondition(input.channels == shape.inChannels, "ForwardPass: image has \(input.channels) channels, model wants \(shape.inChannels)")
    let p = shape.patchSize
    grid = GridSize(rows: input.height / p, cols: input.width / p)
    embedded = ForwardPass.embed(model: model, input: input, grid: grid)
    current = embedded
  }

  /// A pass that starts from a recorded state instead of an image (see `resume`).
  private init(model: ViTModel, state: TokenState) {
    self.model = model
    self.policy = NoReduction()
    grid = state.grid
    embedded = state
    current = state
  }

  /// Runs blocks `block..<depth` without a token method on `state` (the input of block `block`, as recorded by an
  /// earlier pass) and classifies: UP-ViT's ablation scoring reruns only the blocks from the ablated one on.
  public static func resume(model: ViTModel, state: TokenState, fromBlock block: Int) -> Prediction {
    let pass = ForwardPass(model: model, state: state)
    var s = state
    for i in block..<model.depth { _ = pass.runBlock(i, state: &s) }
    return classify(model: model, state: s)
  }

  public var depth: Int { model.depth }
  public var isFinished: Bool { records.count == model.depth }
  /// The state after the last block run (the embedding before any).
  public var state: TokenState { current }

  /// Runs the next block; returns false when all blocks have run.
  @discardableResult
  public func step() -> Bool {
    guard !isFinished else { return false }
    let record = runBlock(records.count, state: &current)
    records.append(record)
    return true
  }

  public func run() { while step() {} }

  /// The state after `block` (nil: the embedding).
  public func state(after block: Int?) -> TokenState {
    guard let block else { return embedded }
    return records[block].output
  }

  /// The final norm and head applied to the tokens after `block` ("if it stopped here"); the last block's is the output.
  public func prediction(after block: Int? = nil) -> Prediction {
    let s = block.map { records[$0].output } ?? current
    return ForwardPass.classify(model: model, state: s)
  }

  /// Runs to the end and returns the model's output.
  public func output() -> Prediction {
    run()
    return prediction()
  }

  // MARK: MACs

  public var stemMACs: Int { MACCounter.stem(model.shape, patches: grid.count) }
  public var headMACs: Int { MACCounter.head(model.shape, finalTokens: current.tokenCount) }
  /// Stem + blocks run so far + final norm and head.
  public var totalMACs: Int { stemMACs + records.reduce(0) { $0 + $1.macs.total } + headMACs }
  public var baselineMACs: Int { MACCounter.baseline(model.shape, grid: grid).total }

  // MARK: Embedding

  static func embed(model: ViTModel, input: ModelInput, grid: GridSize) -> TokenState {
    let shape = model.shape
    let p = shape.patchSize, cin = shape.inChannels, c = shape.embedDim
    // Patches flattened in (channel, y, x) order, matching the conv weight [C, Cin, p, p].
    var patches = Matrix(rows: grid.count, cols: cin * p * p)
    input.pixels.withUnsafeBufferPointer { src in
      patches.data.withUnsafeMutableBufferPointer { dst in
        for gy in 0..<grid.rows {
          for gx in 0..<grid.cols {
            var o = (gy &* grid.cols &+ gx) &* cin &* p &* p
            for ch in 0..<cin {
              for y in 0..<p {
                let rowIndex: Int = (ch &* input.height &+ gy &* p &+ y) &* input.width &+ gx &* p
                let row = src.baseAddress! + rowIndex
                (dst.baseAddress! + o).update(from: row, count: p)
                o &+= p
              }
            }
          }
        }
      }
    }
    let tokens = model.patchEmbed(patches)
    let prefix = model.prefixCount
    var x = Matrix(rows: prefix + grid.count, cols: c)
    for (i, t) in model.prefixTokens.enumerated() { x.data.replaceSubrange((i * c)..<((i + 1) * c), with: t) }
    x.data.replaceSubrange((prefix * c)..<x.data.count, with: tokens.data)
    // Position embeddings: the prefix rows that carry one, then the (resampled) grid.
    let gridPositions = Matrix(rows: model.posEmbed.rows - model.posPrefix, cols: c,
                               data: Array(model.posEmbed.data[(model.posPrefix * c)...]))
    let positions = PosEmbedResampler.resample(gridPositions, from: shape.grid, to: grid)
    for i in 0..<(model.posPrefix * c) { x.data[i] += model.posEmbed.data[i] }
    for i in 0..<(grid.count * c) { x.data[prefix * c + i] += positions.data[i] }
    return TokenState(x: x, prefixCount: prefix, grid: grid)
  }

  // MARK: One block

  func runBlock(_ index: Int, state: inout TokenState) -> BlockRecord {
    let block = model.blocks[index]
    let c = model.embedDim
    let heads = block.heads, d = block.headDim, a = block.attentionWidth
    let tokensIn = state.tokenCount

    var t = profile.map { _ in OpProfile.now() } ?? 0
    let y = block.norm1(state.x)
    t = profile?.add("norm1", since: t) ?? 0
    var full = state
    var selection: (tokens: [Int], event: String, extraMACs: Int)? = nil
    let groups = policy.keyValueGroups(block: index, state: state, normalized: y)
    let n: Int, keyCount: Int
    let probabilities: [Float], attended: Matrix, rowEntropy: [Float]
    var keyVectors: Matrix
    if let groups {
      // Clustered keys and values (ClusTR): queries from every token; one key and value per group, projected from
      // the mean of the group's normalised tokens, with log(group size) on the logits.
      precondition(groups.groupOfToken.count == tokensIn, "keyValueGroups: \(groups.groupOfToken.count) groups for \(tokensIn) tokens")
      n = tokensIn
      keyCount = groups.groupCount
      let q = block.qkv(y, columns: 0..<a)
      var means = Matrix(rows: keyCount, cols: c)
      var members = [Float](repeating: 0, count: keyCount), groupSize = [Float](repeating: 0, count: keyCount)
      for (token, g) in groups.groupOfToken.enumerated() {
        let g = Int(g)
        members[g] += 1
        groupSize[g] += state.size[token]
        for j in 0..<c { means.data[g * c + j] += y.data[token * c + j] }
      }
      for g in 0..<keyCount where members[g] > 0 { for j in 0..<c { means.data[g * c + j] /= members[g] } }
      let kv = block.qkv(means, columns: a..<(3 * a))  // G x 2A: [k | v]
      t = profile?.add("qkv", since: t) ?? 0
      (probabilities, attended, rowEntropy) = q.data.withUnsafeBufferPointer { qp in
        kv.data.withUnsafeBufferPointer { kvp in
          ForwardPass.attention(queries: qp.baseAddress!, ldq: a, queryCount: n, keys: kvp.baseAddress!,
                                values: kvp.baseAddress! + a, ldkv: 2 * a, keyCount: keyCount, heads: heads, headDim: d,
                                logSize: groupSize.map { Foundationless.log(Swift.max($0, 1e-30)) }, pool: ThreadPool.shared)
        }
      }
      keyVectors = Matrix(rows: keyCount, cols: a)
      for r in 0..<keyCount { keyVectors.data.replaceSubrange((r * a)..<((r + 1) * a), with: kv.data[(r * 2 * a)..<(r * 2 * a + a)]) }
    } else {
      // q, k, v for every token (all keys are needed to score an idle selection).
      var qkv = block.qkv(y)  // N x 3A: [q | k | v]
      t = profile?.add("qkv", since: t) ?? 0

      // Before attention: which tokens take part (IdleViT). The others are copied through unchanged.
      selection = qkv.data.withUnsafeBufferPointer {
        policy.activeTokens(block: index, state: state, projections: ProjectionView(heads: heads, headDim: d, tokens: tokensIn, qkv: $0))
      }
      if let selection {
        qkv = qkv.gatherRows(selection.tokens)
        // During the block the sequence is the active subset (provenance is restored from `full` afterwards).
        state.x = state.x.gatherRows(selection.tokens)
        state.size = selection.tokens.map { state.size[$0] }
      }
      n = state.tokenCount
      keyCount = n

      // Attention: softmax(q kᵀ / sqrt(d) [+ log size]) v, on the pool (see `attention`).
      let proportional = policy.usesProportionalAttention(block: index, state: state)
      let logSize: [Float]? = proportional ? state.size.map { Foundationless.log($0) } : nil
      t = profile?.add("policy", since: t) ?? 0
      (probabilities, attended, rowEntropy) = ForwardPass.attention(qkv: qkv, tokens: n, heads: heads, headDim: d,
                                                                    logSize: logSize, pool: ThreadPool.shared)
      keyVectors = Matrix(uninitializedRows: n, cols: a)
      qkv.data.withUnsafeBufferPointer { src in
        keyVectors.data.withUnsafeMutableBufferPointer { dst in
          for r in 0..<n { (dst.baseAddress! + r &* a).update(from: src.baseAddress! + (r &* 3 &* a &+ a), count: a) }
        }
      }
    }
    t = profile?.add("attention", since: t) ?? 0
    // x + ls1 * proj(attended)
    let projected = block.proj(attended)
    t = profile?.add("proj", since: t) ?? 0
    ForwardPass.addResidual(&state.x, projected, scale: block.layerScale1)
    let (entropy, classEntropy) = AttentionStats.entropy(rowEntropies: rowEntropy, heads: heads, queries: n)
    t = profile?.add("residual+keys+stats", since: t) ?? 0

    // The policy's main hook: between attention and MLP.
    var outcome = probabilities.withUnsafeBufferPointer { probs in
      keyVectors.data.withUnsafeBufferPointer { keys in
        policy.reduce(block: index, state: &state,
                      attention: AttentionView(heads: heads, headDim: d, queries: n, keys: keyCount, probabilities: probs,
                                               keyVectors: keys))
      }
    }

    // MLP: x + ls2 * fc2(gelu(fc1(norm2(x)))) on the tokens that remain.
    let nMLP = state.tokenCount
    t = profile?.add("policy", since: t) ?? 0
    let normed2 = block.norm2(state.x)
    t = profile?.add("norm2", since: t) ?? 0
    let hidden = block.fc1(normed2, epilogue: .gelu)  // GELU fused into fc1's store
    t = profile?.add("fc1+gelu", since: t) ?? 0
    let mlpOut = block.fc2(hidden)
    t = profile?.add("fc2", since: t) ?? 0
    ForwardPass.addResidual(&state.x, mlpOut, scale: block.layerScale2)

    // Idle tokens: scatter the active ones back into place; everything else keeps its state from before the block.
    if let selection {
      precondition(state.tokenCount == selection.tokens.count, "a policy that idles tokens cannot also drop them")
      let active = Set(selection.tokens)
      for (i, t) in selection.tokens.enumerated() {
        full.x.data.replaceSubrange((t * c)..<((t + 1) * c), with: state.x.data[(i * c)..<((i + 1) * c)])
      }
      for p in 0..<full.patchToken.count {
        full.patchState[p] = active.contains(Int(full.patchToken[p])) ? .kept : .idle
      }
      state = full
      outcome.extraMACs += selection.extraMACs
      outcome.event = [selection.event, outcome.event].compactMap { $0 }.joined(separator: "; ")
    } else if (0..<state.patchState.count).contains(where: { state.patchState[$0] == .idle }) {
      for p in 0..<state.patchState.count where state.patchState[p] == .idle { state.patchState[p] = .kept }
    }

    t = profile?.add("residual+scatter", since: t) ?? 0
    if let groups {
      outcome.extraMACs += groups.extraMACs
      outcome.event = [groups.event, outcome.event].compactMap { $0 }.joined(separator: "; ")
    }
    let macs = BlockMACs.block(queries: n, keys: keyCount, mlpTokens: nMLP, embed: c, attention: a, hidden: block.mlpHidden,
                               extra: outcome.extraMACs)
    return BlockRecord(index: index, tokensIn: tokensIn, tokensOut: state.tokenCount, output: state, heads: heads,
                       headDim: d, queries: n, keys: keyCount, probabilities: probabilities, keyVectors: keyVectors,
                       activeTokens: selection?.tokens, keyGroups: groups?.groupOfToken, macs: macs, entropy: entropy,
                       classEntropy: classEntropy, event: outcome.event)
  }

  /// Multi-head attention over qkv (N x 3A, [q | k | v]) on the pool: every token a query and a key.
  static func attention(qkv: Matrix, tokens n: Int, heads: Int, headDim d: Int, logSize: [Float]?, pool: ThreadPool)
    -> (probabilities: [Float], attended: Matrix, rowEntropy: [Float])
  {
    let a = heads &* d
    return qkv.data.withUnsafeBufferPointer { p in
      attention(queries: p.baseAddress!, ldq: 3 &* a, queryCount: n, keys: p.baseAddress! + a,
                values: p.baseAddress! + 2 &* a, ldkv: 3 &* a, keyCount: n, heads: heads, headDim: d, logSize: logSize,
                pool: pool)
    }
  }

  /// Multi-head attention on the pool. Shape legend: Q is nq x A (row stride ldq), K and V are nkv x A (row stride
  /// ldkv), heads side by side (A = H * d); `logSize` (nkv) is added to every row of logits when given. Returns the
  /// probabilities (H x nq x nkv, the ones used), the attended values (nq x A) and each row's entropy (H x nq, nats).
  ///
  /// Work split (performance.md: "give each thread whole heads"): K_h and V_h are packed into GEMM panels, then
  /// (head, row chunk) tasks each do scores = Q_h K_hᵀ, the softmax and the entropy of its rows (fused into the
  /// softmax) while they are in cache, then its rows of P_h V_h. When the heads split evenly over the threads each task
  /// is a whole head and packs its own K_h, V_h (one pool job); otherwise rows are chunked as much as needed to give
  /// every thread several tasks (3 heads on 2 threads would leave one idle a third of the time) after a first job packs
  /// every head. Every task writes disjoint rows of `probabilities`, `attended` and `entropy`.
  static func attention(queries: UnsafePointer<Float>, ldq: Int, queryCount nq: Int, keys: UnsafePointer<Float>,
                        values: UnsafePointer<Float>, ldkv: Int, keyCount nkv: Int, heads: Int, headDim d: Int,
                        logSize: [Float]?, pool: ThreadPool)
    -> (probabilities: [Float], attended: Matrix, rowEntropy: [Float])
  {
    let a = heads &* d
    let scale = 1 / Float(d).squareRoot()
    var probabilities = [Float](unsafeUninitializedCapacity: heads &* nq &* nkv) { _, count in count = heads &* nq &* nkv }
    var attended = Matrix(uninitializedRows: nq, cols: a)
    var rowEntropy = [Float](repeating: 0, count: heads &* nq)
    let kFloats = PackedMatrix.panelFloats(n: nkv, k: d), vFloats = PackedMatrix.panelFloats(n: d, k: nkv)
    var packed = [Float](unsafeUninitializedCapacity: heads &* (kFloats &+ vFloats)) { _, count in
      count = heads &* (kFloats &+ vFloats)
    }
    let logSize = logSize ?? []
    precondition(logSize.isEmpty || logSize.count == nkv, "attention: \(logSize.count) log sizes for \(nkv) keys")
    let tileRows = GEMMKernel.best.tileRows, rowTiles = (nq + tileRows - 1) / tileRows
    // Whole heads per task when they split evenly over the threads (DeiT-S: 6 heads on 2 threads); then each task packs
    // its own K_h and V_h and the whole attention is one pool job. Otherwise rows are chunked too, and K_h, V_h are
    // packed once in a first job that every row chunk of the head then reads.
    let wholeHeads = heads % pool.threadCount == 0
    let rowChunks = pool.threadCount == 1 || wholeHeads
      ? 1 : Swift.max(1, Swift.min(rowTiles, (4 &* pool.threadCount + heads - 1) / heads))
    probabilities.withUnsafeMutableBufferPointer { probs in
      attended.data.withUnsafeMutableBufferPointer { out in
        packed.withUnsafeMutableBufferPointer { pk in
          rowEntropy.withUnsafeMutableBufferPointer { ent in
            logSize.withUnsafeBufferPointer { ls in
              let qp = SendablePointer(UnsafeMutablePointer(mutating: queries))
              let kp = SendablePointer(UnsafeMutablePointer(mutating: keys))
              let vp = SendablePointer(UnsafeMutablePointer(mutating: values))
              let pkp = SendablePointer(pk.baseAddress!), pp = SendablePointer(probs.baseAddress!)
              let op = SendablePointer(out.baseAddress!), ep = SendablePointer(ent.baseAddress!)
              let bias = ls.isEmpty ? nil : SendablePointer(UnsafeMutablePointer(mutating: ls.baseAddress!))
              @inline(__always) func packKeysAndValues(_ h: Int) {
                // K_h as an [nkv x d] "weight": scores = Q_h K_hᵀ; V_h packed as the transpose of [nkv x d]: P_h V_h.
                PackedMatrix.pack(rowsOf: kp.p + h &* d, n: nkv, k: d, ldw: ldkv, into: pkp.p + h &* kFloats)
                PackedMatrix.pack(columnsOf: vp.p + h &* d, k: nkv, n: d, ldv: ldkv,
                                  into: pkp.p + (heads &* kFloats &+ h &* vFloats))
              }
              if !wholeHeads { pool.parallelFor(heads) { h in packKeysAndValues(h) } }
              pool.parallelFor(heads &* rowChunks) { task in
                let h = task / rowChunks, c = task % rowChunks
                let r0 = rowTiles &* c / rowChunks &* tileRows
                let r1 = Swift.min(nq, rowTiles &* (c &+ 1) / rowChunks &* tileRows)
                guard r0 < r1 else { return }
                if wholeHeads { packKeysAndValues(h) }
                let rows = r1 &- r0
                let s = pp.p + (h &* nq &+ r0) &* nkv
                gemm(a: qp.p + (r0 &* ldq &+ h &* d), lda: ldq, m: rows, packed: pkp.p + h &* kFloats, n: nkv, k: d,
                     bias: nil, out: s, ldc: nkv)
                softmaxRows(s, rows: rows, n: nkv, scale: scale, bias: bias.map { UnsafePointer($0.p) },
                            entropy: ep.p + (h &* nq &+ r0))
                gemm(a: s, lda: nkv, m: rows, packed: pkp.p + (heads &* kFloats &+ h &* vFloats), n: d, k: nkv,
                     bias: nil, out: op.p + (r0 &* a &+ h &* d), ldc: a)
              }
            }
          }
        }
      }
    }
    return (probabilities, attended, rowEntropy)
  }

  /// x += scale ⊙ delta (row-wise LayerScale when present).
  static func addResidual(_ x: inout Matrix, _ delta: Matrix, scale: [Float]?) {
    precondition(x.rows == delta.rows && x.cols == delta.cols, "residual: \(x.rows)x\(x.cols) += \(delta.rows)x\(delta.cols)")
    let c = x.cols
    x.data.withUnsafeMutableBufferPointer { xp in
      delta.data.withUnsafeBufferPointer { dp in
        if let scale {
          scale.withUnsafeBufferPointer { g in
            for r in 0..<x.rows {
              let xr = xp.baseAddress! + r &* c, dr = dp.baseAddress! + r &* c
              for j in 0..<c { xr[j] += g[j] * dr[j] }
            }
          }
        } else {
          for i in 0..<xp.count { xp[i] += dp[i] }
        }
      }
    }
  }

  // MARK: Head

  static func classify(model: ViTModel, state: TokenState) -> Prediction {
    let c = model.embedDim
    let normed = model.norm(state.x)
    let cls = normed.row(0)
    guard let head = model.head else { return Prediction(classFeatures: cls, logits: nil) }
    var input = Matrix(rows: 1, cols: head.inFeatures)
    switch model.shape.headInput {
    case .classToken:
      input.data = cls
    case .classTokenAndPatchMean:
      var mean = [Float](repeating: 0, count: c)
      let patches = normed.rows - state.prefixCount
      for r in state.prefixCount..<normed.rows { for j in 0..<c { mean[j] += normed[r, j] } }
      input.data = cls + mean.map { $0 / Float(Swift.max(patches, 1)) }
    }
    var logits = head(input).data
    if let dist = model.headDist {
      let distLogits = dist(Matrix(rows: 1, cols: c, data: normed.row(1))).data
      logits = zip(logits, distLogits).map { ($0 + $1) / 2 }
    }
    return Prediction(classFeatures: cls, logits: logits)
  }
}

/// libm access without Foundation.
enum Foundationless {
  static func exp(_ x: Float) -> Float { expf(x) }
  static func log(_ x: Float) -> Float { logf(x) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
