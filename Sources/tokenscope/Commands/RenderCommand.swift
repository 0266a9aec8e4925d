// `tokenscope render`: the token maps of one or more methods as a figure grid, PNG or SVG, written atomically.
import ArgumentParser
import Figures
import ImageInput
import ImageIO
import TokenMethods
import ViTEngine

struct RenderCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render",
    abstract: "Draw token maps as a figure: one row per method, one column per layer, the input first (PNG or SVG).",
    discussion: """
      Views: image (the input as the model sees it), status (pruned patches faded, idle ones dimmed, fused ones \
      tinted, merge groups outlined), groups (each merge group filled with its mean colour and outlined, as ToMe's \
      figures), attention (the CLS attention to each patch's token, viridis), clusters (key/value clusters, or the \
      clusters a clustering block made into tokens), score (the score a method decided by, e.g. PiToMe's energy, \
      viridis, protected patches framed, patches past a threshold dotted), roles (dominant patches as they are, each \
      contextual token's patches in their mean colour, outlined, its own patch dotted; the rest faded), rollout (the \
      attention rollout up to the block, through the method, viridis, each map scaled to its maximum). Layers where \
      the method recorded no clusters, score or roles are drawn as status. Labels give the method, the block, the \
      tokens after it and the MACs so far; in SVG they are real text. The file is written atomically.
      """)

  @Argument(help: "A PNG or JPEG image (default: a bundled sample).")
  var image: String?

  @OptionGroup var modelOptions: ModelOptions

  @Option(name: .customLong("method"), help: methodHelp)
  var methods: [String] = []

  @Option(help: "Blocks to show, 0-based: a list like 3/6/9, a range like 0-11, or all (default: a quarter, half, three quarters of the way and the last block).")
  var layers: String?

  @Option(help: "What each map shows: image, status, groups, attention, clusters, score, roles or rollout.")
  var view: String = "status"

  @Option(help: "Pixels per input pixel (default: enough to make each map at least 112 px wide).")
  var scale: Int?

  @Option(help: "Preprocessing mode (see report --help).")
  var preprocess: PreprocessMode = .auto

  @Option(help: "Output file, .png or .svg.")
  var out: String

  func validate() throws {
    if let scale, scale < 1 || scale > 64 { throw ValidationError("--scale must be in 1...64") }
    guard FigureView(rawValue: view) != nil else {
      throw ValidationError("--view '\(view)': expected one of \(FigureView.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    guard out.hasSuffix(".png") || out.hasSuffix(".svg") else { throw ValidationError("--out '\(out)': expected a .png or .svg file") }
  }

  func run() throws {
    try reportingErrors {
      let specs = try (methods.isEmpty ? ["evit", "tome"] : methods).map(parseMethod)
      let model = try modelOptions.load()
      let depth = model.depth
      let blocks: [Int]
      switch layers {
      case nil: blocks = Array(Set([depth / 4, depth / 2, 3 * depth / 4, depth - 1])).sorted()
      case "all"?: blocks = Array(0..<depth)
      case let text?:
        guard let parsed = BlockList.parse(text) else {
          throw CLIError("--layers \(text): expected blocks like 3/6/9, a range like 0-11, or all", code: CLIError.usage)
        }
        blocks = parsed
        if let bad = blocks.first(where: { $0 >= depth }) {
          throw CLIError("--layers \(text): block \(bad) does not exist; the model has blocks 0-\(depth - 1)", code: CLIError.usage)
        }
        if blocks.isEmpty { throw CLIError("--layers \(text): no blocks to show", code: CLIError.usage) }
      }
      let imagePath = try image ?? Samples.defaultImage(channels: model.shape.inChannels)
      let pipeline = preprocess.pipeline(for: model)
      let input = try loadModelImage(path: imagePath, model: model, pipeline: pipeline)
      let shown = pipeline.resized(input.image)
      let runs = try specs.map { spec in
        do { return try input.methodRun(try makePlan(spec, model: model)) } catch let e as ImageError { throw CLIError(e) }
      }
      let grid = runs[0].grid
      let painter = TokenMapPainter(input: shown, grid: (grid.rows, grid.cols),
                                    scale: scale ?? max(1, (112 + shown.width - 1) / max(1, shown.width)))
      let modelName = (try modelOptions.resolvedPath()).split(separator: "/").last.map(String.init) ?? "model"
      let imageName = imagePath.split(separator: "/").last.map(String.init) ?? imagePath
      let figure = TokenFigure(painter: painter, runs: runs, layers: blocks, view: FigureView(rawValue: view)!,
                               title: "\(modelName) on \(imageName), \(view) view")
      let bytes: [UInt8]
      do {
        bytes = out.hasSuffix(".svg") ? Array(try figure.svg().utf8) : try figure.png()
      } catch let e as ImageError { throw CLIError(e) }
      do { try AtomicFile.write(bytes, to: out) } catch { throw CLIError("cannot write \(out): \(error)", code: CLIError.ioError) }
      emit("wrote \(out) (\(figure.width)x\(figure.height), \(runs.count) method\(runs.count == 1 ? "" : "s") x \(blocks.count) block\(blocks.count == 1 ? "" : "s"), \(view) view)")
    }
  }
}
