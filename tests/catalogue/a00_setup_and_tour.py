from . import Variant, tests_of

TESTS = (*tests_of("confusion_matrix"), "confusion_matrix_edge_cases_hidden")
HEADER = "def confusion_matrix(y_true, y_pred, num_classes):\n"

BUGS = [
    Variant("fancy-index += counts repeated pairs once", "confusion_matrix", HEADER + """
    counts = np.zeros((num_classes, num_classes), dtype=int)
    counts[y_true, y_pred] += 1
    return counts
""", TESTS),
    Variant("rows are predictions, columns true classes", "confusion_matrix", HEADER + """
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (y_pred, y_true), 1)
    return counts
""", TESTS),
    Variant("size from the largest label instead of num_classes", "confusion_matrix", HEADER + """
    c = int(max(y_true.max(), y_pred.max())) + 1
    counts = np.zeros((c, c), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts
""", TESTS, must_fail=("confusion_matrix_edge_cases_hidden",)),
    Variant("float counts", "confusion_matrix", HEADER + """
    counts = np.zeros((num_classes, num_classes))
    np.add.at(counts, (y_true, y_pred), 1)
    return counts
""", TESTS),
    Variant("sorts the labels in place", "confusion_matrix", HEADER + """
    y_true.sort()
    y_pred.sort()
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts
""", TESTS),
]

ALTERNATIVES = [
    Variant("bincount of flat indices", "confusion_matrix", HEADER + """
    flat = np.asarray(y_true) * num_classes + np.asarray(y_pred)
    return np.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)
""", TESTS),
    Variant("python loop into a list of lists", "confusion_matrix", HEADER + """
    table = [[0] * num_classes for _ in range(num_classes)]
    for t, p in zip(y_true, y_pred):
        table[t][p] += 1
    return np.array(table, dtype=np.int32).reshape(num_classes, num_classes)
""", TESTS),
    Variant("histogram2d cast to int", "confusion_matrix", HEADER + """
    edges = np.arange(num_classes + 1) - 0.5
    counts, _, _ = np.histogram2d(y_true, y_pred, bins=[edges, edges])
    return counts.astype(np.int64)
""", TESTS),
]
