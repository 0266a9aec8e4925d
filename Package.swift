// swift-tools-version:6.0
// tokenscope: a terminal explorer for Vision Transformer token reduction.
//
// Module graph (README, "Development"); an arrow points at what a module uses:
//   Pixels, NumberFormatting           value types (RGB, palettes, PixelImage; fixed-point text), no dependencies
//   HostCPU -> CHostCPU                whether this CPU can run the kernels, asked before any of them runs
//   ViTEngine -> GEMMAVX512            the engine; the AVX-512 kernels are a module of their own
//   TokenMethods -> ViTEngine, NumberFormatting   method registry, policies, plans, dataset maps (eval --maps)
//   ImageIO -> CImageCodecs, Pixels
//   ImageInput -> ImageIO, TokenMethods  ModelImage, the input glue shared by the CLI and the explorer
//   Figures -> TokenMethods, ImageIO, Pixels, NumberFormatting   PNG/SVG figures, no terminal code
//   TUI -> Pixels, NumberFormatting    buffer, widgets, colours; no ncurses
//   TUICurses -> TUI, CCurses          the ncurses backend, the only module that imports the curses shim
//   Explorer -> TUI, Figures, ImageInput, TokenMethods   backend-agnostic: the executable injects the backend
//   tokenscope -> all of them, ArgumentParser and TOMLKit (the explorer's settings file)
// The engine knows nothing of terminals, images or methods beyond the phase protocol.
import PackageDescription

// Compiler flags go only on the modules whose hot loops need them.
//
// `-march`: Swift has no per-function target attributes, so a module's instruction set is chosen for the whole
// module. Kernel modules are built for x86-64-v3 (AVX2 + FMA): without it every `addingProduct` on a SIMD vector
// lowers to a libm `fma` call per lane instead of one instruction. The executable is built without it, so its entry
// point can check the CPU (HostCPU) before any x86-64-v3 code runs.
// `-O` in debug: the tests run the kernels on every fixture model, and unoptimised they would make `swift test` slow;
// the modules stay testable with `@testable import`.
let optimizedInDebug: SwiftSetting = .unsafeFlags(["-O"], .when(configuration: .debug))
var kernelFlags: [SwiftSetting] = [optimizedInDebug]
var avx512Flags: [SwiftSetting] = [optimizedInDebug]
#if arch(x86_64)
kernelFlags.append(.unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
// Called only where the CPU reports all of x86-64-v4 (GEMMKernel.best).
avx512Flags.append(.unsafeFlags(["-Xcc", "-march=x86-64-v4"]))
#endif

let package = Package(
  name: "tokenscope",
  products: [
    .executable(name: "tokenscope", targets: ["tokenscope"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // The explorer's settings file ($XDG_CONFIG_HOME/tokenscope/config.toml), read by the command line only.
    .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    // eval --journal: an SQLite file that sqlite3 or pandas can read while a run goes on.
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
  ],
  targets: [
    // C bindings: thin shims only. CCurses links ncursesw through its module map (no pkg-config: ncursesw.pc's
    // cflags are -D flags SwiftPM rejects, and the -dev package's libncursesw.so already pulls in libtinfo).
    .systemLibrary(name: "CCurses"),
    .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),
    .target(name: "CHostCPU"),

    // Pure Swift libraries.
    .target(name: "Pixels"),
    .target(name: "NumberFormatting"),
    .target(name: "HostCPU", dependencies: ["CHostCPU"]),
    .target(name: "GEMMAVX512", swiftSettings: avx512Flags),
    .target(name: "ViTEngine", dependencies: ["GEMMAVX512"], swiftSettings: kernelFlags),
    // ToMe, MSTM and ClusTR compute their similarities with SIMD8 dot products.
    .target(name: "TokenMethods", dependencies: ["ViTEngine", "NumberFormatting"], swiftSettings: kernelFlags),
    // Resampling auto-vectorises: DeiT's preprocessing of a 1600x1200 photo took 5.6 ms with x86-64-v3, 11 ms
    // without (the same pixels either way).
    .target(name: "ImageIO", dependencies: ["CImageCodecs", "Pixels"], swiftSettings: kernelFlags),
    .target(name: "ImageInput", dependencies: ["ImageIO", "Pixels", "TokenMethods", "ViTEngine"]),
    .target(name: "Figures", dependencies: ["TokenMethods", "ImageIO", "Pixels", "NumberFormatting"]),
    .target(name: "TUI", dependencies: ["Pixels", "NumberFormatting"]),
    .target(name: "TUICurses", dependencies: ["TUI", "CCurses"]),
    .target(
      name: "Explorer",
      dependencies: ["ViTEngine", "TokenMethods", "Pixels", "NumberFormatting", "TUI", "Figures", "ImageInput"]),

    .executableTarget(
      name: "tokenscope",
      dependencies: [
        "ViTEngine", "TokenMethods", "ImageIO", "ImageInput", "Pixels", "NumberFormatting", "TUI", "TUICurses",
        "Explorer", "Figures", "HostCPU",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "TOMLKit", package: "TOMLKit"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ]),

    // Helpers shared by the test targets (fixture paths, tolerances, snapshot files).
    .target(name: "TestSupport", path: "Tests/TestSupport"),

    .testTarget(name: "ViTEngineTests", dependencies: ["ViTEngine", "ImageIO", "TestSupport"]),
    .testTarget(name: "TokenMethodsTests", dependencies: ["TokenMethods", "ViTEngine", "TestSupport"]),
    .testTarget(name: "PixelsTests", dependencies: ["Pixels"]),
    .testTarget(name: "NumberFormattingTests", dependencies: ["NumberFormatting"]),
    .testTarget(name: "HostCPUTests", dependencies: ["HostCPU"]),
    .testTarget(name: "ImageIOTests", dependencies: ["ImageIO", "Pixels", "TestSupport"], exclude: ["Fixtures"]),
    .testTarget(name: "TUITests", dependencies: ["TUI", "Pixels", "NumberFormatting", "TestSupport"], exclude: ["Snapshots"]),
    .testTarget(name: "TUICursesTests", dependencies: ["TUICurses", "TUI"]),
    .testTarget(
      name: "ExplorerTests",
      dependencies: ["Explorer", "TUI", "Pixels", "TokenMethods", "ViTEngine", "Figures", "ImageIO", "ImageInput", "TestSupport"],
      exclude: ["Snapshots"]),
    .testTarget(
      name: "FiguresTests", dependencies: ["Figures", "TokenMethods", "ViTEngine", "ImageIO", "Pixels"]),
    .testTarget(
      name: "CLITests",
      dependencies: ["tokenscope", "ViTEngine", "ImageIO", "Pixels", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
  ],
  swiftLanguageModes: [.v6]
)
