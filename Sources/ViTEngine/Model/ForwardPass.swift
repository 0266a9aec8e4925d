// The steppable forward pass. It runs one block at a time and keeps, per block, the token state, the attention
// probabilities actually used and the keys, so a viewer can step forward and back without recomputing. The token
// method (a TokenPolicy) acts at the block's named phases; the block itself names no method.
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
  /// heads x queries x keys, the probabilities actually used (empty, like `keyVectors`, when the pass does not keep
  /// them: `ForwardPass.recordsAttention`).
  public let probabilities: [Float]
  /// keys x (heads * headDim).
  public let keyVectors: Matrix
  /// When only some tokens took part (the select phase): the token index behind each query row and key column; nil
  /// for all.
  public let activeTokens: [Int]?
  /// When keys and values came from groups of tokens (the keyValues phase): each input token's group, i.e. its key
  /// column.
  public let keyGroups: [Int32]?
  /// The tokens each part of the block saw, and the MACs counted from them.
  public let counts: BlockTokenCounts
  public let macs: BlockMACs
  /// Mean row entropy and CLS-row entropy per head, in nats (the latter empty on a model without a class token).
  public let entropy: [Float], classEntropy: [Float]
  public let event: String?
  /// What the policy's phases annotated for the views, in phase order (empty for most blocks).
  public let annotations: [RecordedAnnotations]

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
  /// The final-norm CLS vector (the first token's on a model without a class token).
  public let classFeatures: [Float]
  /// What the classifier reads: timm's forward_head(forward_features(x), pre_logits=True), the pooled (class token,
  /// patch mean or MAP head) and normed feature.
  public let preLogits: [Float]
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
  /// Whether block records keep the attention probabilities and keys (the views, attribution and rollout read them).
  /// `eval` turns it off: on the bundled model the probabilities of a pass are 7.4 MB, written to memory and never
  /// read again, where one block's 0.6 MB, freed after its block, is reused from the cache by the next.
  public var recordsAttention = true
  /// The rotary tables of the state's patch tokens at the last rotation, reused while their positions stay the same.
  private var ropeTables: RotaryTables?

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
  private init(model: ViTModel, state: TokenState, policy: any TokenPolicy) {
    self.model = model
    self.policy = policy
    grid = state.grid
    embedded = state
    current = state
  }

  /// A pass that continues `base` after its first `blocks` blocks: it starts from `base`'s records of those blocks
  /// (shared, not copied) and the state after them, and runs the remaining blocks with `policy`. The caller vouches
  /// that `policy` runs those blocks exactly as `base` ran them (for a baseline `base`: `blocks` is at most
  /// `policy.leadingBaselineBlocks`); then every record, the MACs and the output equal, bit for bit, those of a pass
  /// run with `policy` from the start (TokenMethodsTests check it for every method). `eval` runs the baseline's
  /// leading blocks once per image this way for all the methods it evaluates.
  public init(continuing base: ForwardPass, blocks: Int, policy: any TokenPolicy) {
    precondition(blocks >= 0 && blocks <= base.records.count,
                 "ForwardPass(continuing:): \(blocks) blocks asked, the base pass ran \(base.records.count)")
    model = base.model
    self.policy = policy
    grid = base.grid
    embedded = base.embedded
    records = Array(base.records.prefix(blocks))
    current = blocks == 0 ? base.embedded : base.records[blocks - 1].output
  }

  /// Runs blocks `block..<depth` on `state` (the input of block `block`, as recorded by an earlier pass) and
  /// classifies, keeping no block records: structural ablation scoring reruns only the blocks from the ablated one on
  /// (without a token method), and threshold calibration runs many images at once, where a whole batch of records
  /// (every block's attention probabilities) would not fit in memory.
  public static func resume(model: ViTModel, state: TokenState, fromBlock block: Int,
                            policy: any TokenPolicy = NoReduction()) -> Prediction {
    let pass = ForwardPass(model: model, state: state, policy: policy)
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
    // A model with rotary embeddings only (DINOv3) has no table.
    if model.posEmbed.rows > 0 {
      let gridPositions = Matrix(rows: model.posEmbed.rows - model.posPrefix, cols: c,
                                 data: Array(model.posEmbed.data[(model.posPrefix * c)...]))
      let positions = PosEmbedResampler.resample(gridPositions, from: shape.grid, to: grid)
      for i in 0..<(model.posPrefix * c) { x.data[i] += model.posEmbed.data[i] }
      for i in 0..<(grid.count * c) { x.data[prefix * c + i] += positions.data[i] }
    }
    if let normPre = model.backbone.normPre { x = normPre(x) }
    return TokenState(x: x, prefixCount: prefix, grid: grid)
  }

  // MARK: One block

  /// Runs block `index` on `state`, calling the policy's phases in order (see TokenPolicy): keyValues, then (with
  /// one key per token) the projections, select and attentionBias; attention and its residual; reduce; the MLP on the
  /// tokens that remain; idle tokens scattered back; reduceOutput.
  func runBlock(_ index: Int, state: inout TokenState) -> BlockRecord {
    let block = model.blocks[index]
    let shape = BlockShape(embed: model.embedDim, heads: block.heads, headDim: block.headDim, hidden: block.mlpHidden,
                           prefix: state.prefixCount, patches: state.grid.count, gatedMLP: block.gate != nil,
                           mlpNorm: block.mlpNorm != nil, attentionNorm: block.attentionNorm != nil)
    let tokensIn = state.tokenCount
    state.reorganizations.removeAll()  // a record keeps only its own block's
    var clock = OpClock(profile)

    let normalized = block.norm1(state.x)
    clock.lap("norm1")
    let attention: BlockAttention
    var events: [String] = []
    var blockInput: TokenState? = nil  // the whole sequence, kept while only a selection runs
    if let groups = policy.keyValues(block: index, state: state, normalized: normalized) {
      precondition(groups.groupOfToken.count == tokensIn, "keyValues: \(groups.groupOfToken.count) groups for \(tokensIn) tokens")
      events.append(groups.event)
      clock.lap("policy")
      attention = groupedAttention(block, normalized: normalized, state: state, groups: groups, clock: &clock)
    } else {
      var qkv: Matrix, selection: TokenSelection?
      if policy.selectsTokens(block: index, state: state) {
        (qkv, selection) = selectiveProjections(block, index: index, state: state, normalized: normalized, clock: &clock)
      } else {
        qkv = block.qkv(normalized)  // N x 3A: [q | k | v]
        clock.lap("qkv")
        // Rotary embeddings turn q and k before anything reads them (a policy's scores included).
        rotate(&qkv, tokens: nil, state: state, columns: [0, shape.attentionWidth], block: block)
        clock.lap("rope")
        selection = qkv.data.withUnsafeBufferPointer {
          let p = $0.baseAddress!, a = shape.attentionWidth
          return policy.select(block: index, state: state, projections: ProjectionView(
            heads: shape.heads, headDim: shape.headDim, tokens: tokensIn, queries: p, ldq: 3 * a, queryCount: tokensIn,
            keys: p + a, ldk: 3 * a))
        }
        if let selection { qkv = qkv.gatherRows(selection.tokens) }
      }
      if let selection {
        // During the block the sequence is the selection; the others are restored from `blockInput` afterwards.
        events.append(selection.event)
        blockInput = state
        state.x = state.x.gatherRows(selection.tokens)
        state.size = selection.tokens.map { state.size[$0] }
        state.position = state.gatheringPositions(selection.tokens)
      }
      let bias: [Float]? = switch policy.attentionBias(block: index, state: state) {
      case .none: nil
      case .logSize: state.size.map { Foundationless.log($0) }
      }
      clock.lap("policy")
      attention = ungroupedAttention(block, qkv: qkv, bias: bias, selection: selection?.tokens)
    }
    clock.lap("attention")
    let queries = attention.output.attended.rows
    var attended = attention.output.attended
    if let norm = block.attentionNorm {
      attended = norm(attended)
      clock.lap("attn-norm")
    }
    let projected = block.proj(attended)
    clock.lap("proj")
    ForwardPass.addResidual(&state.x, projected, scale: block.layerScale1)
    let (entropy, classEntropy) = AttentionStats.entropy(rowEntropies: attention.output.rowEntropy, heads: shape.heads,
                                                         queries: queries)
    clock.lap("residual+keys+stats")

    let patchTokenBeforeReduce = state.patchToken  // the map the reduce phase's annotations index (only P numbers)
    // What the reduce phases see: this block's probabilities actually used and its keys.
    func withAttentionView(_ body: (AttentionView) -> PolicyOutcome) -> PolicyOutcome {
      attention.output.probabilities.withUnsafeBufferPointer { probs in
        attention.keyVectors.data.withUnsafeBufferPointer { keys in
          body(AttentionView(heads: shape.heads, headDim: shape.headDim, queries: queries, keys: attention.keyCount,
                             probabilities: probs, keyVectors: keys))
        }
      }
    }
    let outcome = withAttentionView { policy.reduce(block: index, state: &state, attention: $0) }
    if let event = outcome.event { events.append(event) }
    var annotations: [RecordedAnnotations] = []
    if let notes = outcome.annotations {
      // The phase saw the selection when one runs: its token j is the selection's j-th token.
      var position = [Int32](repeating: -1, count: blockInput?.tokenCount ?? tokensIn)
      if let selected = attention.selection { for (j, t) in selected.enumerated() { position[t] = Int32(j) } } else {
        for t in position.indices { position[t] = Int32(t) }
      }
      annotations.append(RecordedAnnotations(annotations: notes, patchToken: patchTokenBeforeReduce.map { $0 >= 0 ? position[Int($0)] : -1 }))
    }
    clock.lap("policy")

    // MLP: x + ls2 * fc2(act(fc1(norm2(x)))) on the tokens that remain.
    let mlpTokens = state.tokenCount
    let normed2 = block.norm2(state.x)
    clock.lap("norm2")
    var hidden = block.gate.map { swiGLU(gate: $0, up: block.fc1, normed2) } ?? activate(block.fc1, normed2, model.backbone.activation)
    clock.lap("fc1+gelu")
    if let norm = block.mlpNorm {
      hidden = norm(hidden)
      clock.lap("mlp-norm")
    }
    let mlpOut = block.fc2(hidden)
    clock.lap("fc2")
    ForwardPass.addResidual(&state.x, mlpOut, scale: block.layerScale2)

    if let selected = attention.selection, let whole = blockInput {
      precondition(state.tokenCount == selected.count, "a policy that idles tokens cannot also drop them")
      state = whole.scatteringBack(state, selected: selected)
    } else {
      state.clearIdle()
    }
    clock.lap("residual+scatter")

    let patchTokenBeforeOutput = state.patchToken
    let compressed = withAttentionView { policy.reduceOutput(block: index, state: &state, attention: $0) }
    if let event = compressed.event { events.append(event) }
    if let notes = compressed.annotations {
      annotations.append(RecordedAnnotations(annotations: notes, patchToken: patchTokenBeforeOutput))
    }
    clock.lap("policy")

    let counts = BlockTokenCounts(tokensIn: tokensIn, queries: queries, keys: attention.keyCount, mlpTokens: mlpTokens,
                                  tokensOut: state.tokenCount)
    let macs = BlockMACs.block(counts, shape: shape, extra: policy.extraMACs(block: index, counts: counts, shape: shape))
    return BlockRecord(index: index, tokensIn: tokensIn, tokensOut: state.tokenCount, output: state, heads: shape.heads,
                       headDim: shape.headDim, queries: queries, keys: attention.keyCount,
                       probabilities: recordsAttention ? attention.output.probabilities : [],
                       keyVectors: recordsAttention ? attention.keyVectors : Matrix(rows: 0, cols: attention.keyVectors.cols),
                       activeTokens: attention.selection, keyGroups: attention.groups, counts: counts, macs: macs,
                       entropy: entropy, classEntropy: state.prefixCount > 0 ? classEntropy : [], event: events.isEmpty ? nil : events.joined(separator: "; "),
                       annotations: annotations)
  }

  /// A block's attention, with what the policy's phases decided about its rows and columns.
  struct BlockAttention {
    let output: Attention.Output
    /// keys x A.
    let keyVectors: Matrix
    var keyCount: Int { keyVectors.rows }
    /// The token behind each query row and key column, when only some took part.
    let selection: [Int]?
    /// Each input token's key column, when keys were grouped.
    let groups: [Int32]?
  }

  /// Attention with one key per token (of the selection, when there is one). qkv: N x 3A.
  private func ungroupedAttention(_ block: BlockWeights, qkv: Matrix, bias: [Float]?, selection: [Int]?) -> BlockAttention {
    let a = block.attentionWidth, n = qkv.rows
    let output = Attention.multiHead(qkv: qkv, tokens: n, heads: block.heads, headDim: block.headDim, bias: bias,
                                     pool: ThreadPool.shared)
    var keyVectors = Matrix(uninitializedRows: n, cols: a)
    qkv.data.withUnsafeBufferPointer { src in
      keyVectors.data.withUnsafeMutableBufferPointer { dst in
        for r in 0..<n { (dst.baseAddress! + r &* a).update(from: src.baseAddress! + (r &* 3 &* a &+ a), count: a) }
      }
    }
    return BlockAttention(output: output, keyVectors: keyVectors, selection: selection, groups: nil)
  }

  /// Attention over grouped keys and values: queries from every token; one key and value per group, projected from the
  /// mean of the group's normalised tokens, with log(group size) on the logits. normalized: N x C.
  private func groupedAttention(_ block: BlockWeights, normalized y: Matrix, state: TokenState, groups: KeyValueGroups,
                                clock: inout OpClock) -> BlockAttention {
    let sizes = state.size
    let c = y.cols, a = block.attentionWidth, n = y.rows, groupCount = groups.groupCount
    var q = block.qkv(y, columns: 0..<a)
    var means = Matrix(rows: groupCount, cols: c)
    var members = [Float](repeating: 0, count: groupCount), groupSize = [Float](repeating: 0, count: groupCount)
    // Pointer loops, not per-element indexing of means.data (trap 4 in Engine.md); tokens summed in the same order.
    means.data.withUnsafeMutableBufferPointer { mp in
      y.data.withUnsafeBufferPointer { yp in
        let m = mp.baseAddress!, src = yp.baseAddress!
        for (token, g) in groups.groupOfToken.enumerated() {
          let g = Int(g)
          members[g] += 1
          groupSize[g] += sizes[token]
          let dst = m + g &* c, row = src + token &* c
          for j in 0..<c { dst[j] += row[j] }
        }
        for g in 0..<groupCount where members[g] > 0 {
          let dst = m + g &* c, count = members[g]
          for j in 0..<c { dst[j] /= count }
        }
      }
    }
    var kv = block.qkv(means, columns: a..<(3 * a))  // G x 2A: [k | v]
    clock.lap("qkv")
    if let rope = model.backbone.rope {
      rotate(&q, tokens: nil, state: state, columns: [0], block: block)
      // A group's key sits where its mean does: at the mean of its members' coordinates ([recon]); groups holding a
      // prefix token are not rotated.
      var sum = [Float](repeating: 0, count: 2 * groupCount), hasPrefix = [Bool](repeating: false, count: groupCount)
      for (token, g) in groups.groupOfToken.enumerated() {
        let g = Int(g)
        if token < state.prefixCount { hasPrefix[g] = true }
        sum[2 * g] += state.position[2 * token]; sum[2 * g + 1] += state.position[2 * token + 1]
      }
      let rows = (0..<groupCount).filter { !hasPrefix[$0] && members[$0] > 0 }
      let positions = rows.flatMap { [sum[2 * $0] / members[$0], sum[2 * $0 + 1] / members[$0]] }
      rope.rotate(&kv, rows: rows, positions: positions, grid: state.grid, columns: [0], heads: block.heads, headDim: block.headDim)
      clock.lap("rope")
    }
    let output = q.data.withUnsafeBufferPointer { qp in
      kv.data.withUnsafeBufferPointer { kvp in
        Attention.multiHead(queries: qp.baseAddress!, ldq: a, queryCount: n, keys: kvp.baseAddress!,
                            values: kvp.baseAddress! + a, ldkv: 2 * a, keyCount: groupCount, heads: block.heads,
                            headDim: block.headDim, bias: groupSize.map { Foundationless.log(Swift.max($0, 1e-30)) },
                            pool: ThreadPool.shared)
      }
    }
    var keyVectors = Matrix(rows: groupCount, cols: a)
    for r in 0..<groupCount { keyVectors.data.replaceSubrange((r * a)..<((r + 1) * a), with: kv.data[(r * 2 * a)..<(r * 2 * a + a)]) }
    return BlockAttention(output: output, keyVectors: keyVectors, selection: nil, groups: groups.groupOfToken)
  }

  /// Applies the model's rotary embedding (if any) in place to the A-wide blocks of `m` starting at `columns`: row r
  /// holds token `tokens?[r] ?? r` of `state`; prefix tokens' rows are left alone.
  func rotate(_ m: inout Matrix, tokens: [Int]?, state: TokenState, columns: [Int], block: BlockWeights) {
    guard let rope = model.backbone.rope else { return }
    let prefix = state.prefixCount
    let rows = (0..<m.rows).filter { (tokens?[$0] ?? $0) >= prefix }
    guard !rows.isEmpty else { return }
    // Tables for every patch token of the state, kept while its positions stay; rows of other tokens gather theirs.
    let patches = rope.tables(positions: Array(state.position[(2 * prefix)...]), grid: state.grid,
                              headDim: block.headDim, reusing: ropeTables)
    ropeTables = patches
    let patchIndices = rows.map { (tokens?[$0] ?? $0) - prefix }
    let tables = patchIndices.elementsEqual(0..<(state.tokenCount - prefix)) ? patches : patches.rows(patchIndices)
    rope.rotate(&m, rows: rows, tables: tables, columns: columns, heads: block.heads)
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

  /// timm's forward_head: the final norm over every token (when the model has one), the pooling, fc_norm, the head.
  static func classify(model: ViTModel, state: TokenState) -> Prediction {
    let c = model.embedDim
    let normed = model.norm.map { $0(state.x) } ?? state.x
    let cls = normed.row(0)
    var pooled: [Float]
    switch model.backbone.pooling {
    case .cls:
      // A distilled model's pre-logits average the class and distillation tokens (timm VisionTransformerDistilled).
      pooled = model.headDist != nil || model.info.prefixNames.dropFirst().first == "dist" ? zip(cls, normed.row(1)).map { ($0 + $1) / 2 } : cls
    case .avg:
      pooled = [Float](repeating: 0, count: c)
      let patches = normed.rows - state.prefixCount
      for r in state.prefixCount..<normed.rows { for j in 0..<c { pooled[j] += normed[r, j] } }
      pooled = pooled.map { $0 / Float(Swift.max(patches, 1)) }
    case .map:
      // timm pools the non-prefix tokens only (pool_include_prefix is off for 'map').
      let tokens = Matrix(rows: normed.rows - state.prefixCount, cols: c, data: Array(normed.data[(state.prefixCount * c)...]))
      pooled = model.backbone.mapHead!(tokens, activation: model.backbone.activation).pooled
    }
    if let fcNorm = model.backbone.fcNorm { pooled = fcNorm(Matrix(rows: 1, cols: c, data: pooled)).data }
    guard let head = model.head else { return Prediction(classFeatures: cls, preLogits: pooled, logits: nil) }
    var input = Matrix(rows: 1, cols: head.inFeatures)
    switch model.shape.headInput {
    case .classToken:
      // A distilled model's two heads read the two tokens apart; their mean is only the pre-logits feature.
      input.data = model.headDist != nil ? cls : pooled
    case .classTokenAndPatchMean:
      var mean = [Float](repeating: 0, count: c)
      let patches = normed.rows - state.prefixCount
      for r in state.prefixCount..<normed.rows { for j in 0..<c { mean[j] += normed[r, j] } }
      input.data = cls + mean.map { $0 / Float(Swift.max(patches, 1)) }
      pooled = input.data
    }
    var logits = head(input).data
    if let dist = model.headDist {
      let distLogits = dist(Matrix(rows: 1, cols: c, data: normed.row(1))).data
      logits = zip(logits, distLogits).map { ($0 + $1) / 2 }
    }
    return Prediction(classFeatures: cls, preLogits: pooled, logits: logits)
  }
}

/// libm access without Foundation.
enum Foundationless {
  static func exp(_ x: Float) -> Float { expf(x) }
  static func log(_ x: Float) -> Float { logf(x) }
  static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
  static func cos(_ x: Float) -> Float { cosf(x) }
  static func sin(_ x: Float) -> Float { sinf(x) }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
