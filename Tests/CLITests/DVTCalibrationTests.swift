// DVT's threshold calibration (`eval --calibrate`) on a worked example small enough to follow by hand.
import Testing
import TestSupport
@testable import tokenscope

@Suite("DVT threshold calibration")
struct DVTCalibrationTests {
  /// Four images, three stages. Top-softmax confidence of each image at stages 0 and 1 (stage 2 always answers, so
  /// its confidence plays no part):
  ///
  ///     image   stage 0   stage 1
  ///       0       0.9       0.95
  ///       1       0.7       0.5
  ///       2       0.5       0.8
  ///       3       0.3       0.6
  ///
  /// For q = 0.05, 0.10 ... 2.95 the target exit shares are (q, q², q³) / (q + q² + q³), so with n = 4 images stage 0
  /// wants w0 = ⌊4 / (1 + q + q²)⌋ exits and stage 1 wants w1 = ⌊4q / (1 + q + q²)⌋ (the nearest the unfloored values
  /// come to an integer over these q is 0.0025, so rounding cannot move a floor):
  ///
  ///     q             w0  w1
  ///     0.05 - 0.25    3   0
  ///     0.30 - 0.35    2   0
  ///     0.40 - 0.60    2   1
  ///     0.65 - 1.30    1   1
  ///     1.35 - 2.60    0   1
  ///     2.65 - 2.95    0   0
  ///
  /// A stage's threshold is the w-th highest confidence among the images still running (w = 0: 2, the stage never
  /// exits); every image at or above it leaves. Stage 0 in confidence order: images 0, 1, 2, 3 (0.9, 0.7, 0.5, 0.3).
  ///
  ///     w0 = 3: 0.5, images 0, 1, 2 leave; w1 = 0: 2               -> [0.5, 2]
  ///     w0 = 2: 0.7, images 0, 1 leave;    w1 = 0: 2               -> [0.7, 2]
  ///     w0 = 2: 0.7;   w1 = 1 among images 2, 3 (0.8, 0.6): 0.8    -> [0.7, 0.8]
  ///     w0 = 1: 0.9, image 0 leaves; w1 = 1 among 1, 2, 3 (0.5, 0.8, 0.6): 0.8, not image 0's 0.95 -> [0.9, 0.8]
  ///     w0 = 0: 2, nobody leaves;   w1 = 1 among all four: 0.95      -> [2, 0.95]
  ///     w0 = 0, w1 = 0                                              -> [2, 2]
  @Test func workedExample() {
    let confidences: [[Float]] = [[0.9, 0.95, 0.99], [0.7, 0.5, 0.6], [0.5, 0.8, 0.7], [0.3, 0.6, 0.9]]
    #expect(CascadeRecords.calibratedThresholds(confidences, stages: 3)
            == [[0.5, 2], [0.7, 2], [0.7, 0.8], [0.9, 0.8], [2, 0.95], [2, 2]])
  }

  /// Two stages, same four images: w0 = ⌊4 / (1 + q)⌋ is 3 for q <= 0.30, 2 up to q = 1, 1 beyond; the thresholds are
  /// the 3rd, 2nd and 1st highest stage-0 confidences.
  @Test func twoStages() {
    let confidences: [[Float]] = [[0.9, 0.95], [0.7, 0.5], [0.5, 0.8], [0.3, 0.6]]
    #expect(CascadeRecords.calibratedThresholds(confidences, stages: 2) == [[0.5], [0.7], [0.9]])
  }
}
