// Full-pipeline parity with torchvision:
//   Compose([Resize(S, interp), CenterCrop(crop), ToTensor(), Normalize(mean, std)]) on img.convert("RGB" | "L")
//
// Shape legend: tensors are [channels][cropH][cropW] Float32 (CHW); crops are [cropH][cropW][channels] UInt8.

import ImageIO
import Pixels
import Testing

let imagenetMean: [Float] = [0.485, 0.456, 0.406]
let imagenetStd: [Float] = [0.229, 0.224, 0.225]

@Suite struct PreprocessingTests {
  @Test(arguments: Fixtures.manifest.pipeline)
  func matchesTorchvision(_ fixture: Manifest.PipelineCase) throws {
    let preprocessing = fixture.preprocessing
    let image = fixture.source.image
    let tensor = try preprocessing.apply(to: image, name: fixture.id)
    let plane = fixture.crop_height * fixture.crop_width
    try #require(tensor.count == fixture.channels * plane)

    // Tolerance: one uint8 step after normalisation, 1/255/std; in practice the values are bit-identical.
    func check(_ index: Int, _ expected: Float, _ mismatches: inout Int, _ worst: inout Float) {
      let channel = index / plane
      let tolerance = 1 / 255 / fixture.std[channel] + 1e-6
      let difference = abs(tensor[index] - expected)
      if tensor[index] != expected { mismatches += 1 }
      worst = max(worst, difference / tolerance)
    }
    var mismatches = 0
    var worst: Float = 0
    if let file = fixture.tensor {
      let expected = try Fixtures.floats(file)
      try #require(expected.count == tensor.count)
      for i in 0..<tensor.count { check(i, expected[i], &mismatches, &worst) }
    }
    if let samples = fixture.samples {
      for (i, value) in zip(samples.index, samples.value) { check(i, value, &mismatches, &worst) }
    }
    #expect(worst <= 1, "\(fixture.id): worst difference is \(worst) x the tolerance")
    #expect(mismatches == 0, "\(fixture.id): \(mismatches) values are not bit-identical to torchvision")
    let sum = tensor.reduce(0.0) { $0 + Double($1) }
    #expect(abs(sum - fixture.sum) <= 1e-6 * Double(tensor.count), "\(fixture.id): sum \(sum) vs \(fixture.sum)")

    let crop = preprocessing.resized(image)
    #expect(crop.width == fixture.crop_width && crop.height == fixture.crop_height && crop.channels == fixture.channels)
    if let file = fixture.cropped {
      let expected = try ImageLoader.decode(data: try Fixtures.bytes(file), name: file)
      let (worstStep, count) = compare(crop.pixels, expected.pixels)
      #expect(worstStep == 0, "\(fixture.id): \(count) crop samples differ by up to \(worstStep)")
    }
    if let hash = fixture.cropped_fnv1a64 {
      #expect(String(fnv1a64(crop.pixels), radix: 16).leftPadded(to: 16) == hash, "\(fixture.id): crop hash")
    }
  }

  @Test func constructorsPickTheReferenceShortSide() {
    let deit224 = Preprocessing.deit(inputSize: (224, 224), channels: 3, mean: imagenetMean, std: imagenetStd)
    #expect(deit224.resizeShortSide == 256 && deit224.cropHeight == 224 && deit224.cropWidth == 224)
    #expect(deit224.interpolation == .bicubic && deit224.mode == "deit")
    #expect(Preprocessing.deit(inputSize: (384, 384), channels: 3, mean: imagenetMean, std: imagenetStd)
      .resizeShortSide == 438)
    #expect(Preprocessing.deit(inputSize: (32, 32), channels: 3, mean: imagenetMean, std: imagenetStd)
      .resizeShortSide == 36)
    let timm = Preprocessing.timm(inputSize: (224, 224), channels: 3, cropPct: 0.9, mean: imagenetMean,
                                  std: imagenetStd, interpolation: .bicubic)
    #expect(timm.resizeShortSide == 248 && timm.mode == "timm")
    #expect(Preprocessing.timm(inputSize: (224, 224), channels: 3, cropPct: 0.875, mean: imagenetMean,
                               std: imagenetStd, interpolation: .bilinear).resizeShortSide == 256)
    #expect(Preprocessing.timm(inputSize: (384, 384), channels: 3, cropPct: 1.0, mean: imagenetMean,
                               std: imagenetStd, interpolation: .bicubic).resizeShortSide == 384)
    #expect(Preprocessing.timm(inputSize: (32, 32), channels: 3, cropPct: 0.9, mean: imagenetMean,
                               std: imagenetStd, interpolation: .bicubic).resizeShortSide == 35)
    let none = Preprocessing.none(inputSize: (224, 224), channels: 3, mean: imagenetMean, std: imagenetStd)
    #expect(none.resizeShortSide == nil && none.mode == "none")
  }

  @Test func descriptionIsTheActivePipeline() {
    let deit = Preprocessing.deit(inputSize: (224, 224), channels: 3, mean: imagenetMean, std: imagenetStd)
    #expect(deit.description == "short side 256 bicubic (PIL antialias) -> centre crop 224x224 -> /255 -> "
      + "mean (0.485, 0.456, 0.406) std (0.229, 0.224, 0.225)")
    let none = Preprocessing.none(inputSize: (32, 32), channels: 1, mean: [0.5], std: [0.5])
    #expect(none.description == "grey (PIL L) -> no resize (image must be 32x32) -> /255 -> mean (0.5) std (0.5)")
    let nearest = Preprocessing.timm(inputSize: (224, 224), channels: 3, cropPct: 0.9, mean: imagenetMean,
                                     std: imagenetStd, interpolation: .nearest)
    #expect(nearest.description.hasPrefix("short side 248 nearest -> centre crop 224x224"))
    #expect(!deit.description.contains("\n"))
  }

  @Test func noneRejectsOtherSizes() throws {
    let none = Preprocessing.none(inputSize: (32, 32), channels: 3, mean: imagenetMean, std: imagenetStd)
    let image = pattern(width: 40, height: 30, channels: 3, seed: 1)
    do {
      _ = try none.apply(to: image, name: "photo.png")
      Issue.record("accepted 40x30")
    } catch {
      #expect(error == .sizeMismatch(name: "photo.png", width: 40, height: 30, expectedWidth: 32, expectedHeight: 32))
      #expect(error.isOneLine(naming: "photo.png") && error.description.contains("40x30")
        && error.description.contains("32x32"))
      #expect(!error.isMissingFile)
    }
    let exact = pattern(width: 32, height: 32, channels: 1, seed: 2)
    #expect(try none.apply(to: exact, name: "grey.png").count == 3 * 32 * 32)
  }

  @Test func meanAndStdMustMatchChannels() {
    let bad = Preprocessing.none(inputSize: (4, 4), channels: 3, mean: [0.5], std: [0.5])
    #expect(throws: ImageError.self) { try bad.apply(to: pattern(width: 4, height: 4, channels: 3, seed: 0), name: "x") }
  }

  @Test func greyConversionIsPillowsL() {
    // Pillow: Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))
    let rgb = PixelImage(width: 5, height: 1, channels: 3,
                         pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 12, 200, 99])
    #expect(Preprocessing.toGrey(rgb).pixels == [76, 150, 29, 255, 132])
    #expect(Preprocessing.toRGB(Preprocessing.toGrey(rgb)).pixels.count == 15)
  }

  @Test func centerCropRoundsHalfToEvenAndPads() {
    let image = pattern(width: 7, height: 5, channels: 1, seed: 3)
    // (7 - 4) / 2 = 1.5 -> 2 and (5 - 4) / 2 = 0.5 -> 0 with Python's round.
    let crop = Preprocessing.centerCrop(image, height: 4, width: 4)
    #expect(crop.pixels[0] == image.pixels[2])
    // Larger than the image: zero padding, left/top get the smaller half.
    let padded = Preprocessing.centerCrop(image, height: 8, width: 10)
    #expect(padded.width == 10 && padded.height == 8)
    #expect(padded.pixels[0] == 0)
    #expect(padded.pixels[1 * 10 + 1] == image.pixels[0])  // top pad (8-5)//2 = 1, left pad (10-7)//2 = 1
    #expect(padded.pixels[(1 + 4) * 10 + (1 + 6)] == image.pixels[4 * 7 + 6])
  }
}

extension String {
  func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
