// tokenscope: the command line. Subcommands live in Commands/, shared plumbing in Support/, the entry point in
// main.swift.
import ArgumentParser

struct TokenScope: ParsableCommand {
  static let version = "0.1.0"

  static let configuration = CommandConfiguration(
    commandName: "tokenscope",
    abstract: "Explore Vision Transformer token reduction, layer by layer.",
    discussion: """
      Point tokenscope at an image and a ViT checkpoint (timm or Hugging Face safetensors: ViT, DeiT, DINOv2) to see, \
      per block, which tokens a method keeps, merges, fuses, idles, prunes or clusters, at which grid a cascade exits, \
      and which heads and channels a structural pruning keeps, with attention entropy and MACs counted the fvcore way. \
      Everything runs in tokenscope's own pure-Swift engine.

      Exit codes: 0 success, 64 usage error, 65 bad data (malformed checkpoint or image), 66 missing input, \
      69 a CPU without AVX2 and FMA, 74 I/O error.
      """,
    version: version,
    subcommands: [ExploreCommand.self, InspectCommand.self, ReportCommand.self, FlopsCommand.self, EvalCommand.self, BenchCommand.self, RenderCommand.self, PruneCommand.self, CalibrateCommand.self, LessonCommand.self],
    defaultSubcommand: ExploreCommand.self
  )
}
