// swift-tools-version:6.0
// tokenscope: a terminal explorer for Vision Transformer token reduction.
//
// Dependency rules (see README, "Development"):
//   ViTEngine  <- TokenMethods <- tokenscope
//   ImageIO    (C codecs only)  <- tokenscope
//   TUI        (widgets, cell buffer; CursesBackend is the one type that touches ncurses) <- Explorer <- tokenscope
//   Figures    (PNG/SVG token-map figures over TokenMethods' MethodRun snapshots) <- tokenscope
//   GEMMAVX512 (the AVX-512 GEMM kernel, built for x86-64-v4, called only where the CPU has it) <- ViTEngine
// The engine knows nothing of terminals, images or methods beyond the policy protocol.
import PackageDescription

// Kernels live or die by these flags (../shared/docs/performance.md): without them a SIMD FMA lowers to a libm call
// per lane, 140x slower. `-O` in debug keeps `swift test` fast; `@testable import` still works.
var kernelFlags: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
// The AVX-512 GEMM module is built for x86-64-v4 and called only on CPUs that have it (GEMMKernel.best).
var avx512Flags: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#if arch(x86_64)
kernelFlags.append(.unsafeFlags(["-Xcc", "-march=x86-64-v3"]))
avx512Flags.append(.unsafeFlags(["-Xcc", "-march=x86-64-v4"]))
#endif

let package = Package(
  name: "tokenscope",
  products: [
    .executable(name: "tokenscope", targets: ["tokenscope"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
  ],
  targets: [
    // C bindings: thin shims only.
    .systemLibrary(name: "CCurses", pkgConfig: "ncursesw"),
    .target(name: "CImageCodecs", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]),

    // Pure Swift libraries.
    .target(name: "GEMMAVX512", swiftSettings: avx512Flags),
    .target(name: "ViTEngine", dependencies: ["GEMMAVX512"], swiftSettings: kernelFlags),
    .target(name: "TokenMethods", dependencies: ["ViTEngine"], swiftSettings: kernelFlags),
    .target(name: "ImageIO", dependencies: ["CImageCodecs"], swiftSettings: kernelFlags),
    .target(name: "TUI", dependencies: ["CCurses"]),
    // Figures: token maps as PNG/SVG figure grids (raster canvas, embedded font, SVG writer).
    .target(name: "Figures", dependencies: ["TokenMethods", "ImageIO", "TUI"], swiftSettings: kernelFlags),
    // The explorer: state, actions and screens over the engine and the TUI widgets (no ncurses: the backend is injected).
    .target(name: "Explorer", dependencies: ["ViTEngine", "TokenMethods", "ImageIO", "TUI", "Figures"], swiftSettings: kernelFlags),

    .executableTarget(
      name: "tokenscope",
      dependencies: [
        "ViTEngine", "TokenMethods", "ImageIO", "TUI", "Explorer", "Figures",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: kernelFlags),

    .testTarget(name: "ViTEngineTests", dependencies: ["ViTEngine", "ImageIO"], swiftSettings: kernelFlags),
    .testTarget(name: "TokenMethodsTests", dependencies: ["TokenMethods", "ViTEngine"], swiftSettings: kernelFlags),
    .testTarget(name: "ImageIOTests", dependencies: ["ImageIO"], exclude: ["Fixtures"]),
    .testTarget(name: "TUITests", dependencies: ["TUI"], exclude: ["Snapshots"]),
    .testTarget(name: "ExplorerTests", dependencies: ["Explorer", "TUI", "TokenMethods", "ViTEngine", "Figures", "ImageIO"], exclude: ["Snapshots"]),
    .testTarget(name: "FiguresTests", dependencies: ["Figures", "TokenMethods", "ViTEngine", "ImageIO", "TUI"]),
    .testTarget(name: "CLITests", dependencies: ["tokenscope", "ViTEngine"]),
  ],
  swiftLanguageModes: [.v6]
)
