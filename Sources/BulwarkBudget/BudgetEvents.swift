public import BulwarkCore

/// A budget dimension went into debt: `debt` more was used than it had.
///
/// Emitted as `.budgetDebt(dimension:debt:)`; its name is `"budget.debt"`.
public struct BudgetDebt: ResilienceEventDetail {
    /// The dimension's name.
    public var dimension: String
    /// How much more was used than it had.
    public var debt: Int

    /// Creates the event.
    public init(dimension: String, debt: Int) {
        self.dimension = dimension
        self.debt = debt
    }

    /// `"budget.debt"`.
    public var name: String { "budget.debt" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("dimension", dimension), ("debt", "\(debt)")] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

/// A budget could not read the real usage of a call (the operation failed, or its result reports none and no usage reader was given), so the reservation stays at its estimate.
///
/// Emitted as `.budgetSettledAtEstimate(reason:)`; its name is `"budget.settled_at_estimate"`.
public struct BudgetSettledAtEstimate: ResilienceEventDetail {
    /// Which of the two.
    public var reason: String

    /// Creates the event.
    public init(reason: String) {
        self.reason = reason
    }

    /// `"budget.settled_at_estimate"`.
    public var name: String { "budget.settled_at_estimate" }

    /// The payload as key–value pairs.
    public var attributes: [(String, String)] { [("reason", reason)] }

    /// Notice.
    public var severity: ResilienceEvent.Severity { .notice }
}

extension ResilienceEvent.Kind {
    /// BudgetDebt: a budget dimension went into debt: `debt` more was used than it had.
    public static func budgetDebt(dimension: String, debt: Int) -> Self {
        .detail(.init(BudgetDebt(dimension: dimension, debt: debt)))
    }

    /// BudgetSettledAtEstimate: a budget could not read the real usage of a call (the operation failed, or its result reports none and no usage reader was given), so the reservation stays at its estimate.
    public static func budgetSettledAtEstimate(reason: String) -> Self {
        .detail(.init(BudgetSettledAtEstimate(reason: reason)))
    }
}
