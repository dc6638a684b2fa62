"""pandas for the pandas example (examples/pandas/main.ts): a DataFrame in, an Arrow table out."""

import pandas as pd
from snakebridge.serializers.arrow import tables_as


def by_region(records):
    """Orders, revenue and average order per region, from a list of {region, amount} records."""
    orders = pd.DataFrame.from_records(records)
    summary = orders.groupby("region", sort=True).agg(
        orders=("amount", "size"),
        revenue=("amount", "sum"),
        average=("amount", "mean"),
    )
    # The index (region) becomes a column; a DataFrame result arrives in TypeScript as an Arrow table.
    return summary.reset_index().round(2)


@tables_as("pandas")
def top(summary, column, n=2):
    """The `n` rows with the largest `column`: the Arrow table sent from TypeScript arrives as a DataFrame."""
    return summary.nlargest(n, column).reset_index(drop=True)
