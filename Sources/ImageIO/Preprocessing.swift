// Preprocessing: decoded image -> the float tensor a ViT sees, matching the reference Python pipelines exactly:
//   DeiT / timm eval:  img.convert("RGB"|"L") -> Resize(S, interpolation) -> CenterCrop(H, W) -> ToTensor() -> Normalize
//
// Shape legend:
//   image        [h][w][c] UInt8 (HWC), c = 1 or 3 as loaded
//   converted    [h][w][channels] UInt8        after PIL's convert to the model's channel count
//   resized      [h'][w'][channels] UInt8      torchvision Resize(S): short side -> S, long = int(S * long / short)
//   cropped      [cropH][cropW][channels]      torchvision CenterCrop (zero padding when the image is smaller)
//   result       [channels][cropH][cropW] Float  planar CHW, (v / 255 - mean[c]) / std[c] in Float32
import Pixels

/// The preprocessing a model expects. Build one with `deit`, `timm` or `none` (the caller resolves "auto").
public struct Preprocessing: Sendable, Equatable, CustomStringConvertible {
  /// "deit", "timm" or "none".
  public var mode: String
  /// Target length of the short side, or nil for no resize.
  public var resizeShortSide: Int?
  public var cropHeight: Int
  public var cropWidth: Int
  public var interpolation: Interpolation
  /// Per channel, `channels` entries each.
  public var mean: [Float]
  public var std: [Float]
  /// Channels the model takes: 1 (PIL "L") or 3 (RGB).
  public var channels: Int
  /// The crop fraction the resize was derived from (timm's crop_pct; DeiT's 0.875), when there is one.
  public var cropPct: Double? = nil

  public init(mode: String, resizeShortSide: Int?, cropHeight: Int, cropWidth: Int, interpolation: Interpolation,
              mean: [Float], std: [Float], channels: Int) {
    self.mode = mode
    self.resizeShortSide = resizeShortSide
    self.cropHeight = cropHeight
    self.cropWidth = cropWidth
    self.interpolation = interpolation
    self.mean = mean
    self.std = std
    self.channels = channels
  }

  /// DeiT's eval transform: `Resize(int(inputH / 0.875), interpolation)` (256 for 224), then `CenterCrop(inputSize)`.
  /// `inputSize` is (height, width).
  public static func deit(inputSize: (Int, Int), channels: Int, mean: [Float], std: [Float],
                          interpolation: Interpolation = .bicubic) -> Preprocessing {
    Preprocessing(mode: "deit", resizeShortSide: Int((Double(inputSize.0) / 0.875).rounded(.down)),
                  cropHeight: inputSize.0, cropWidth: inputSize.1, interpolation: interpolation,
                  mean: mean, std: std, channels: channels)
  }

  /// timm's eval transform (`transforms_imagenet_eval`, crop_mode "center"): scale_size = math.floor(inputH / cropPct),
  /// `Resize(scale_size)` on the short side, then `CenterCrop(inputSize)`. For non-square inputs timm switches to
  /// ResizeKeepRatio; we keep the short-side rule with the input height (ViTs are square in practice).
  public static func timm(inputSize: (Int, Int), channels: Int, cropPct: Double, mean: [Float], std: [Float],
                          interpolation: Interpolation) -> Preprocessing {
    var p = Preprocessing(mode: "timm", resizeShortSide: Int((Double(inputSize.0) / cropPct).rounded(.down)),
                          cropHeight: inputSize.0, cropWidth: inputSize.1, interpolation: interpolation,
                          mean: mean, std: std, channels: channels)
    p.cropPct = cropPct
    return p
  }

  /// The same pipeline for another input size, as timm would build it for a model running at that size (DVT's
  /// cascade runs one model at several): DeiT's rule for deit, the same crop_pct for timm; `none` images are resized
  /// whole (crop_pct 1).
  public func atInputSize(height: Int, width: Int) -> Preprocessing {
    switch mode {
    case "deit":
      return .deit(inputSize: (height, width), channels: channels, mean: mean, std: std, interpolation: interpolation)
    case "timm":
      return .timm(inputSize: (height, width), channels: channels, cropPct: cropPct ?? 1, mean: mean, std: std,
                   interpolation: interpolation)
    default:
      if height == cropHeight && width == cropWidth { return self }
      return .timm(inputSize: (height, width), channels: channels, cropPct: 1, mean: mean, std: std,
                   interpolation: interpolation)
    }
  }

  /// No resize and no crop: the image must already be exactly `inputSize` (height, width), otherwise `apply` throws.
  public static func none(inputSize: (Int, Int), channels: Int, mean: [Float], std: [Float]) -> Preprocessing {
    Preprocessing(mode: "none", resizeShortSide: nil, cropHeight: inputSize.0, cropWidth: inputSize.1,
                  interpolation: .bicubic, mean: mean, std: std, channels: channels)
  }

  /// The active pipeline on one line, e.g.
  /// "short side 256 bicubic (PIL antialias) -> centre crop 224x224 -> /255 -> mean (0.485, 0.456, 0.406) std (0.229, 0.224, 0.225)".
  /// Sizes are written width x height, like every image size in ImageIO's messages.
  public var description: String {
    var steps: [String] = []
    if channels == 1 { steps.append("grey (PIL L)") }
    if mode == "none" {
      steps.append("no resize (image must be \(cropWidth)x\(cropHeight))")
    } else {
      if let side = resizeShortSide {
        let filter = interpolation == .nearest ? "nearest" : "\(interpolation.rawValue) (PIL antialias)"
        steps.append("short side \(side) \(filter)")
      }
      steps.append("centre crop \(cropWidth)x\(cropHeight)")
    }
    steps.append("/255")
    let list: ([Float]) -> String = { "(" + $0.map { "\($0)" }.joined(separator: ", ") + ")" }
    steps.append("mean \(list(mean)) std \(list(std))")
    return steps.joined(separator: " -> ")
  }

  /// The image the model sees, as planar CHW floats: channels x cropHeight x cropWidth, ((v / 255) - mean) / std.
  /// An image smaller than the crop after the resize is zero-padded (black before normalisation), as torchvision's
  /// CenterCrop pads. Throws for `none` when the image is not exactly the input size, and when mean/std do not have
  /// `channels` entries.
  public func apply(to image: PixelImage, name: String) throws(ImageError) -> [Float] {
    guard mean.count == channels, std.count == channels else {
      throw .invalidImage(name: name, detail: "preprocessing has \(mean.count) means and \(std.count) stds for a "
        + "\(channels)-channel model; expected \(channels) of each")
    }
    guard image.channels == 1 || image.channels == 3 else {
      throw .invalidImage(name: name, detail: "image has \(image.channels) channels; expected 1 (grey) or 3 (RGB)")
    }
    if mode == "none" && (image.width != cropWidth || image.height != cropHeight) {
      throw .sizeMismatch(name: name, width: image.width, height: image.height,
                          expectedWidth: cropWidth, expectedHeight: cropHeight)
    }
    if let side = resizeShortSide {
      let (width, height) = Self.resizedSize(width: image.width, height: image.height, shortSide: side)
      // Fuzzing: a 600-byte 16384x1 PNG resized to short side 256 is 4194304x256 pixels (3 GB RGB) before the crop.
      if width > ImageLoader.maxDimension || height > ImageLoader.maxDimension {
        throw .invalidImage(name: name, detail: "resizing the \(image.width)x\(image.height) image to short side \(side) "
          + "would make it \(width)x\(height) pixels, more than \(ImageLoader.maxDimension) on a side (aspect ratio too extreme)")
      }
    }
    return normalise(resized(image))
  }

  /// The uint8 image after channel conversion, resize and crop, before normalisation: what the model sees, for display.
  /// For `none` with a wrong size this returns the centre crop / zero padding rather than throwing.
  public func resized(_ image: PixelImage) -> PixelImage {
    // RGB -> L must happen before resampling (the reference converts at load time); L -> RGB commutes with the
    // per-channel resampling, so it is done last, on a third of the data.
    var current = channels == 1 && image.channels == 3 ? Self.toGrey(image) : image
    if let side = resizeShortSide {
      let (width, height) = Self.resizedSize(width: current.width, height: current.height, shortSide: side)
      current = Resampler.resize(current, width: width, height: height, filter: interpolation)
    }
    current = Self.centerCrop(current, height: cropHeight, width: cropWidth)
    if channels == 3 && current.channels == 1 { current = Self.toRGB(current) }
    return current
  }

  /// HWC uint8 -> CHW Float32, (v / 255 - mean) / std, each step rounded to Float32 as torch does.
  func normalise(_ image: PixelImage) -> [Float] {
    let plane = image.width * image.height, c = image.channels
    return [Float](unsafeUninitializedCapacity: plane * c) { out, initialized in
      image.pixels.withUnsafeBufferPointer { source in
        for channel in 0..<c {
          let m = mean[channel], s = std[channel]
          let dst = out.baseAddress! + channel &* plane
          for i in 0..<plane {
            dst[i] = (Float(source[i &* c &+ channel]) / 255 - m) / s
          }
        }
      }
      initialized = plane * c
    }
  }

  // MARK: - torchvision / PIL building blocks

  /// torchvision's `Resize(int)` output size (`_compute_resized_output_size`): the short side becomes `shortSide`,
  /// the long side `int(shortSide * long / short)` (true division in double, then truncation). Returns (width, height).
  public static func resizedSize(width: Int, height: Int, shortSide: Int) -> (width: Int, height: Int) {
    let short = min(width, height), long = max(width, height)
    let newLong = Int(Double(shortSide * long) / Double(short))
    return width <= height ? (shortSide, newLong) : (newLong, shortSide)
  }

  /// torchvision's `CenterCrop((height, width))` on a PIL image. When the image is smaller than the crop it is first
  /// padded with zeros (black) exactly as torchvision does: left/top get (crop - size) // 2, right/bottom the rest.
  /// The crop origin is int(round((size - crop) / 2.0)) with Python's round-half-to-even.
  public static func centerCrop(_ image: PixelImage, height cropHeight: Int, width cropWidth: Int) -> PixelImage {
    var source = image
    if cropWidth > source.width || cropHeight > source.height {
      let left = cropWidth > source.width ? (cropWidth - source.width) / 2 : 0
      let top = cropHeight > source.height ? (cropHeight - source.height) / 2 : 0
      let right = cropWidth > source.width ? (cropWidth - source.width + 1) / 2 : 0
      let bottom = cropHeight > source.height ? (cropHeight - source.height + 1) / 2 : 0
      source = copyRegion(source, left: -left, top: -top,
                          width: source.width + left + right, height: source.height + top + bottom)
      if source.width == cropWidth && source.height == cropHeight { return source }
    }
    let top = Int((Double(source.height - cropHeight) / 2.0).rounded(.toNearestOrEven))
    let left = Int((Double(source.width - cropWidth) / 2.0).rounded(.toNearestOrEven))
    if top == 0 && left == 0 && source.width == cropWidth && source.height == cropHeight { return source }
    return copyRegion(source, left: left, top: top, width: cropWidth, height: cropHeight)
  }

  /// A width x height window whose top-left corner sits at (left, top) in `image`; outside the image is zero (PIL crop).
  static func copyRegion(_ image: PixelImage, left: Int, top: Int, width: Int, height: Int) -> PixelImage {
    let c = image.channels
    var pixels = [UInt8](repeating: 0, count: width * height * c)
    let x0 = max(0, left), x1 = min(image.width, left + width)
    if x1 > x0 {
      pixels.withUnsafeMutableBufferPointer { out in
        image.pixels.withUnsafeBufferPointer { source in
          for y in max(0, top)..<max(max(0, top), min(image.height, top + height)) {
            let from = source.baseAddress! + (y &* image.width &+ x0) &* c
            let to = out.baseAddress! + ((y &- top) &* width &+ (x0 &- left)) &* c
            to.update(from: from, count: (x1 &- x0) &* c)
          }
        }
      }
    }
    return PixelImage(width: width, height: height, channels: c, pixels: pixels)
  }

  /// PIL's convert("L") from RGB (Convert.c rgb2l, the L24 macro): (19595 R + 38470 G + 7471 B + 0x8000) >> 16.
  public static func toGrey(_ image: PixelImage) -> PixelImage {
    guard image.channels == 3 else { return image }
    let count = image.width * image.height
    let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
      image.pixels.withUnsafeBufferPointer { source in
        for i in 0..<count {
          let r = UInt32(source[i &* 3]), g = UInt32(source[i &* 3 &+ 1]), b = UInt32(source[i &* 3 &+ 2])
          out[i] = UInt8(truncatingIfNeeded: (r &* 19595 &+ g &* 38470 &+ b &* 7471 &+ 0x8000) >> 16)
        }
      }
      initialized = count
    }
    return PixelImage(width: image.width, height: image.height, channels: 1, pixels: pixels)
  }

  /// PIL's convert("RGB") from L: the grey value replicated.
  public static func toRGB(_ image: PixelImage) -> PixelImage {
    guard image.channels == 1 else { return image }
    let count = image.width * image.height
    let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
      image.pixels.withUnsafeBufferPointer { source in
        for i in 0..<count {
          let v = source[i]
          out[i &* 3] = v
          out[i &* 3 &+ 1] = v
          out[i &* 3 &+ 2] = v
        }
      }
      initialized = count * 3
    }
    return PixelImage(width: image.width, height: image.height, channels: 3, pixels: pixels)
  }
}
