import Reports
import Testing

@Suite("select's verdict follows the numbers")
struct SelectionReportTests {
    func degree(_ d: Int, train: Double, validation: Double) -> SelectionReport.Degree {
        SelectionReport.Degree(
            degree: d, parameters: d + 1, trainLoss: train, validationLoss: validation, validationLossStd: 0, testLoss: validation
        )
    }

    @Test("under- and overfitting are named only when the losses show them")
    func verdict() {
        let classic = SelectionReport(
            profile: "p", folds: 5, epochs: 10, loss: "l2",
            degrees: [
                degree(0, train: 0.3, validation: 0.3), degree(3, train: 0.1, validation: 0.12),
                degree(9, train: 0.05, validation: 0.4),
            ])
        let text = classic.render(.table)
        #expect(text.contains("Best degree by validation loss: 3."))
        #expect(text.contains("Degree 0 underfit"))
        #expect(text.contains("Degree 9 overfit"))
        let flat = SelectionReport(
            profile: "p", folds: 5, epochs: 10, loss: "l2",
            degrees: [degree(1, train: 0.2, validation: 0.2), degree(2, train: 0.25, validation: 0.21)])
        #expect(flat.render(.table).contains("No tried degree clearly under- or overfits."))
        #expect(!flat.render(.table).contains("underfit ("))
    }
}
