import ArgumentParser
import Explorer
import Foundation
import ImageInput
import ImageIO
import Pixels
import TokenMethods
import TUI
import TUICurses
import ViTEngine

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

struct ExploreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explore",
    abstract: "The interactive explorer (the default): step through the forward pass and watch a method's tokens.",
    discussion: "With no image and no --model it opens the bundled Fashion-MNIST ViT on a bundled image. Press ? for the keys.")

  @OptionGroup var options: ExploreOptions

  func run() throws { try options.run(lesson: false) }
}

struct LessonCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lesson",
    abstract: "The explorer as a guided tour of token reduction: patches, attention, cost, pruning, merging, idling.",
    discussion: "The same screen and keys as explore, starting on the first lesson page: ] or Enter for the next page, [ for the previous one, t to leave the tour.")

  @OptionGroup var options: ExploreOptions

  func run() throws { try options.run(lesson: true) }
}

/// Everything explore and lesson take.
struct ExploreOptions: ParsableArguments {
  @Argument(help: "A PNG or JPEG image (default: a bundled sample).")
  var image: String?

  @OptionGroup var modelOptions: ModelOptions

  @OptionGroup var inputSizeOption: InputSizeOption

  @Option(name: .customLong("method"), help: methodHelp)
  var methods: [String] = []

  @Option(help: "Preprocessing mode (see report --help).")
  var preprocess: PreprocessMode = .auto

  @Flag(help: "Draw no colour at all (also when NO_COLOR is set).")
  var noColor = false

  @Flag(help: "Ignore the mouse.")
  var noMouse = false

  @Flag(help: "ASCII glyphs only (automatic when the locale is not UTF-8).")
  var ascii = false

  @Option(help: "Real pixels for the maps: auto (kitty, WezTerm, Ghostty, iTerm2 and foot by their environment; sixel where an xterm says so; none inside tmux), kitty, sixel, iterm, or none (half blocks only; also: off).")
  var graphics: String?

  @Flag(help: "Projector mode: bigger cells, bold text, a high-contrast palette (P toggles it).")
  var large = false

  @Option(help: "Dataset maps for the plots page (p): the folder eval --maps DIR wrote, its maps.json, or an eval JSON with a maps member. The focused method's mean map at the current block is shown beside this image's (also :maps PATH).")
  var maps: String?

  func validate() throws {
    if let graphics, GraphicsMode(argument: graphics) == nil {
      throw ValidationError("--graphics must be auto, kitty, sixel, iterm or none (got '\(graphics)')")
    }
    guard methods.count <= 4 else {
      throw ValidationError("at most 4 --method: the explorer compares up to four methods side by side (got \(methods.count))")
    }
  }

  func run(lesson: Bool) throws {
    try reportingErrors {
      // The settings file first: its problems go to stderr, where they stay readable after the explorer ends.
      let (settings, problems) = ExplorerConfig.load()
      for problem in problems { FileHandle.standardError.write(Data(("tokenscope: " + problem + "\n").utf8)) }
      // Before the terminal: a file that cannot be used is one line and an exit code, with or without a terminal.
      let datasetMaps = try maps.map { LoadedMaps(path: DatasetMaps.file(for: $0), maps: try DatasetMaps.readForCLI(path: $0)) }
      guard isatty(0) == 1, isatty(1) == 1 else {
        throw CLIError("explore needs a terminal on stdin and stdout; use `tokenscope report IMAGE` or `tokenscope render` instead", code: CLIError.usage)
      }
      let specs = try (methods.isEmpty ? settings.methods ?? ["evit", "tome"] : methods).map(parseMethod)
      let model = try modelOptions.load()
      let imagePath = try image ?? Samples.defaultImage(channels: model.shape.inChannels)
      let pipeline = preprocess.pipeline(for: model, inputSize: try inputSizeOption.checked(for: model))
      let input = try loadModelImage(path: imagePath, model: model, pipeline: pipeline)
      let context = ExplorerContext(model: model, imagePath: imagePath, pipeline: pipeline, image: input.image)
      var backend: CursesBackend
      do {
        backend = try CursesBackend(options: .init(colorMode: noColor ? .monochrome : nil, mouse: !noMouse, ascii: ascii ? true : nil,
                                                   graphics: noColor ? .none : GraphicsMode(argument: graphics ?? settings.graphics ?? "auto") ?? .none))
      } catch {
        throw CLIError("\(error)", code: CLIError.usage)  // the error says "cannot start the terminal UI: why"
      }
      var state = ExplorerState(context: context, methods: specs)
      state.samples = Samples.images(channels: model.shape.inChannels)
      state.computeAhead = true
      settings.apply(to: &state)
      if large { state.large = true }
      state.datasetMaps = datasetMaps
      state.message = problems.first
      let opener: Worker.ImageOpener = { path in
        let input = try loadModelImage(path: path, model: model, pipeline: pipeline)
        return (ExplorerContext(model: model, imagePath: path, pipeline: pipeline, image: input.image), input)
      }
      let preprocess = self.preprocess
      let sizer: Worker.InputSizer = { path, size in
        let pipeline = preprocess.pipeline(for: model, inputSize: try InputSizeOption.check(size, for: model))
        let input = try loadModelImage(path: path, model: model, pipeline: pipeline)
        return (ExplorerContext(model: model, imagePath: path, pipeline: pipeline, image: input.image), input)
      }
      var app = ExplorerApp(state: state, worker: Worker(model: model, input: input, opener: opener, sizer: sizer),
                            appearance: backend.appearance)
      // Through the app, so the lesson page's computations start (an update whose effects were dropped left page 1's
      // baseline pending forever).
      if lesson { app.send(.startLesson) }
      app.run(backend: &backend)
      backend.restore()
    }
  }
}

extension ExplorerContext {
  init(model: ViTModel, imagePath: String, pipeline: Preprocessing, image: PixelImage) {
    let s = model.shape
    let name = model.info.path.split(separator: "/").last.map(String.init) ?? model.info.path
    let heads = Set(s.heads).count == 1 ? "\(s.heads[0])" : s.heads.map(String.init).joined(separator: "/")
    let summary = "\(model.info.scheme.rawValue), \(s.depth) blocks, width \(s.embedDim), \(heads) heads, patch \(s.patchSize), grid \(s.grid)"
    let grid = (rows: pipeline.cropHeight / s.patchSize, cols: pipeline.cropWidth / s.patchSize)
    self.init(modelName: name, modelSummary: summary, imageName: imagePath, preprocessing: pipeline.description,
              image: pipeline.resized(image),
              depth: s.depth, grid: grid, heads: s.heads.first ?? 0)
  }
}
