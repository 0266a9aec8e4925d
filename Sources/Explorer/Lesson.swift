// Lesson mode (`t`, or `tokenscope lesson`): a guided tour, one idea per page. Each page sets up the screen (methods,
// layer, view, compare, plots) and explains what is on it; the user can still step, switch views and change methods.
// Blocks in `layer` are 0-based, as in specs, reports, figures and on screen ("block 3 of 0-11"); on a shallower model the
// page clamps to the last block.
import TokenMethods

public struct LessonPage: Sendable {
  public let title: String
  public let text: String
  public let methods: [String]
  public let layer: Int
  public let view: TokenMapView
  public var compare = false
  public var plots = false
}

public enum Lesson {
  public static let pages: [LessonPage] = [
    LessonPage(
      title: "Patches and the CLS token",
      text: """
        A Vision Transformer cuts the image into a grid of square patches and turns each patch into a token: a vector \
        of numbers. One extra token, CLS, holds no pixels. It gathers information from all the others, and at the end \
        the classifier reads only CLS. Every block updates every token, so the cost of a block follows the number of \
        tokens. The side panel counts them: tokens in -> out. Press Tab to cycle the views.
        """,
      methods: ["none"], layer: 0, view: .image),
    LessonPage(
      title: "Attention and entropy",
      text: """
        In each block every token looks at every other token. Each head computes its own weights (a softmax over the \
        tokens) and mixes the tokens' values with them. This map shows how strongly CLS attends to each patch, brighter \
        is stronger. Entropy measures how spread out a head's attention is: near 0 it looks at one token, at ln N \
        (5.3 for 197 tokens) it looks at all of them evenly. The bars show each head; press a to map one head.
        """,
      methods: ["none"], layer: 5, view: .attention),
    LessonPage(
      title: "What a block costs",
      text: """
        Attention costs grow with the square of the token count (every token against every other), the projections \
        and the MLP grow linearly. With every token kept each block costs the same, and the GMACs line climbs \
        straight. Token reduction bends it down: fewer tokens, cheaper blocks from then on. The grey line is the \
        baseline; press p to go back to the maps.
        """,
      methods: ["none", "evit", "tome"], layer: 11, view: .status, plots: true),
    LessonPage(
      title: "Pruning: EViT",
      text: """
        EViT keeps the tokens that CLS attends to most, in three blocks (3, 6 and 9, counted from 0 as everywhere; keep 0.7 keeps 70% each time). \
        The others are not simply dropped: they are fused into one extra token, averaged with their attention as \
        weights, so their content survives in summary. Orange cells are fused. Step with the arrow keys to watch the \
        three reductions; press + or - to change the keep rate and see it recomputed.
        """,
      methods: ["evit"], layer: 3, view: .status),
    LessonPage(
      title: "Merging: ToMe",
      text: """
        ToMe merges instead of pruning. In every block it splits the tokens into two alternating sets, links each \
        token of one set to its most similar token in the other (similarity of attention keys) and averages the r \
        most similar pairs. This view paints every group of merged patches with its mean colour: merges follow the \
        image's regions, flat background first. A merged token counts for all its patches in later attention.
        """,
      methods: ["tome"], layer: 6, view: .groups),
    LessonPage(
      title: "Merging into crucial tokens: MSTM",
      text: """
        MSTM combines both ideas. As in EViT, CLS attention picks the crucial tokens to keep. As in ToMe, every other \
        token is merged rather than discarded: into the crucial token it resembles most, weighted by its importance \
        and size. Nothing is lost, and the token count after each reduction is fixed in advance. (tokenscope's version \
        leaves out MSTM's learned multi-scale fusion; see the method's help.)
        """,
      methods: ["mstm"], layer: 3, view: .groups),
    LessonPage(
      title: "Idling: IdleViT",
      text: """
        IdleViT lets tokens sit out instead of leaving. From the fourth block on, only the tokens with the highest CLS \
        score take part in each block; the others are copied through unchanged (the dim cells) and can take part \
        again later. A token ignored early can still matter at the end, and the cost falls as with pruning. Step \
        through the blocks: the set of idle patches changes from block to block.
        """,
      methods: ["idle"], layer: 6, view: .status),
    LessonPage(
      title: "Clustering keys and values: ClusTR",
      text: """
        ClusTR keeps every token but shrinks what they attend to. In each block the patches are grouped into clusters \
        of similar tokens (density peaks: a dense token far from denser ones becomes a centre, the rest join the \
        nearest). Every token still asks its question (query), but the answers (keys and values) come from cluster \
        averages, so attention is cheaper. Each colour is a cluster; the cursor underlines one. A training-free \
        emulation on one unmodified model: ClusTR trains with its clusters.
        """,
      methods: ["clustr"], layer: 5, view: .clusters),
    LessonPage(
      title: "Early exit: DVT",
      text: """
        DVT asks how many tokens an image needs. It first runs on a coarse grid (7x7 here: 49 patches, a quarter of \
        the cost) and stops if the model is confident enough (its top probability passes the threshold); otherwise it \
        runs again on a finer grid. Easy images stop early, hard ones pay for every stage. Each column is a stage: its \
        view of the image, its confidence bar, whether it answered. A training-free emulation: DVT trains one model \
        per grid, here one unmodified model runs all three.
        """,
      methods: ["dvt"], layer: 11, view: .stages),
    LessonPage(
      title: "Structural pruning: UP-ViT",
      text: """
        UP-ViT removes parts of the network rather than tokens. Each channel is scored by how much the output changes \
        without it (a KL divergence on a few images); the least important attention channels and MLP units go, and a \
        smaller dense model is left. Here each block keeps 2 of 4 heads and half its MLP: the bars show what remains, \
        and the cost falls in every block alike. Without fine-tuning, such cuts cost accuracy.
        """,
      methods: ["upvit:heads=2,mlp-ratio=2"], layer: 0, view: .pruning),
    LessonPage(
      title: "Protecting distinctive tokens: PiToMe",
      text: """
        PiToMe merges like ToMe but first asks which tokens are redundant. A token's energy measures how much it \
        resembles all the others (cosine similarity of keys, past a margin): high energy means many look alike, like \
        flat background. From block 6 on only the highest-energy tokens are paired and merged; the lowest-energy ones, \
        the distinctive details, are protected (the diamonds). This map colours each patch by its token's energy; \
        move the cursor to read one.
        """,
      methods: ["pitome"], layer: 8, view: .score),
    LessonPage(
      title: "Clustering tokens: ATC",
      text: """
        ATC clusters instead of pairing. In blocks 3, 6 and 9 it builds a tree bottom-up: the two closest tokens \
        (cosine distance of their keys) join, then the closest pair of clusters, and so on, until a set number is left \
        (keep 0.7 compounds: 137, 96 and 67 of 196 patches). Each cluster becomes one token, one colour here. The \
        strip in the side panel shows the merge distances in order and the cut where the tree stopped; the refused \
        merge pokes through it.
        """,
      methods: ["atc"], layer: 3, view: .clusters),
    LessonPage(
      title: "Dominant and contextual tokens: VisionZip",
      text: """
        VisionZip was designed for the vision tower of a vision-language model, which hands the output of its \
        second-to-last block to a language model. There it keeps the dominant tokens, the ones CLS attends to most \
        (54 with CLS), and gathers the rest into 10 contextual tokens: evenly spaced targets, each joined by the \
        tokens most like it (each colour is one). On a classifier only the last block gets cheaper: here it shows \
        what such a tower would hand on, not a speed-up.
        """,
      methods: ["visionzip"], layer: 10, view: .roles),
    LessonPage(
      title: "A threshold instead of a count: DToMe",
      text: """
        DToMe, from DyMU, was also designed for vision-language towers. It matches tokens as ToMe does, but merges \
        every pair more similar than the block's threshold instead of a fixed number, so a plain image loses more \
        tokens than a busy one. The thresholds need calibration data: tokenscope calibrate runs a training set so \
        that an average image merges a chosen number per block. The chart compares this image's token count with \
        that calibration mean, layer by layer.
        """,
      methods: ["dymu"], layer: 11, view: .counts),
    LessonPage(
      title: "Token norms and registers",
      text: """
        This view shows each token's length (its L2 norm) after the block. Large ViTs such as DINOv2 grow a few \
        patch tokens with norms far above the rest in later blocks: they store global information there, and the \
        patch's own content is lost. Vision Transformers Need Registers adds extra prefix tokens to hold it, and the \
        artefacts go. The side panel lists registers with their share of the attention.
        """,
      methods: ["none"], layer: 11, view: .norms),
    LessonPage(
      title: "Comparing at equal cost",
      text: """
        Papers compare methods at the same cost. These four use about 60 to 65% of the baseline's MACs on the bundled \
        model. Press d to mark the patches where a method's choice differs from the first one, and step through the \
        blocks. Which is most accurate at a given cost is a question for many images, not one: \
        tokenscope eval --sweep --plot tradeoff.svg measures it.
        """,
      methods: ["evit", "tome:r=10", "idle", "mstm"], layer: 11, view: .status, compare: true),
    LessonPage(
      title: "Did it keep what mattered?",
      text: """
        Attention rollout traces how much of the class token's final state flows from each patch, through attention, \
        residuals and the method's merges and pruning; EViT's map stands beside the baseline's. Relevance kept is the \
        share of the baseline's rollout on patches still their own token: EViT ends with 36% of the patches and 36% of \
        the relevance (1,000 test images), as this model's rollout is nearly even. Press x to drop the cursor's token \
        and see the answer move; X ranks them all.
        """,
      methods: ["evit"], layer: 11, view: .relevance, compare: true),
  ]

  /// Sets the screen up for `page`.
  static func apply(_ page: Int, to state: inout ExplorerState) {
    let p = pages[page]
    state.lessonPage = page
    state.lessonScroll = 0
    state.methods = p.methods.compactMap { try? MethodSpec.parse($0) }
    state.focus = 0
    state.layer = min(p.layer, state.context.depth - 1)
    state.view = p.view
    state.compare = p.compare
    state.showPlots = p.plots
    state.highlightDifferences = false
    state.cursor = nil
    state.showHelp = false
  }
}
