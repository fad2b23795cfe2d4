"""Country strength per field, measured from the indexed corpus.

For country c and field f, over the publications whose inferred field is f:
  share           c's share of the field's publications (a publication counts once for each
                  distinct country among its authors);
  citation_share  c's share of the field's citations, where citation counts are known;
  specialization  c's share of field f divided by c's share of all publications (1 = average);
  strength        0.7 * share / (largest share of any country in f) + 0.3 * min(specialization, 2) / 2,
                  a figure in [0, 1]: 1 for the field's leading country if it is also specialised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SHARE_WEIGHT, SPECIALIZATION_WEIGHT, SPECIALIZATION_CAP = 0.7, 0.3, 2.0


@dataclass(frozen=True)
class Strength:
    publications: int
    share: float
    citation_share: float | None
    specialization: float
    strength: float


StrengthTable = dict[str, dict[str, Strength]]  # country -> field -> figures


def country_strength(
    pub_fields: np.ndarray,
    pub_author_offsets: np.ndarray,
    pub_author_rows: np.ndarray,
    author_countries: np.ndarray,
    country_names: np.ndarray,
    pub_citations: np.ndarray,
    field_ids: Sequence[str],
    pub_key: np.ndarray | None = None,
) -> StrengthTable:
    """Publication row p's authors are `pub_author_rows[pub_author_offsets[p]:pub_author_offsets[p + 1]]`,
    rows of `author_countries`, each an index into `country_names` (where '' is the unknown country);
    `pub_citations` holds -1 where the count is unknown. `pub_key`: the row that stands for each
    row's publication, where one publication has several rows (an incremental version's base and
    delta): it is counted once, with that row's field."""
    entry_pub = np.repeat(np.arange(len(pub_fields)), np.diff(pub_author_offsets))
    if pub_key is not None:
        entry_pub = pub_key[entry_pub]
    entry_code = np.asarray(author_countries)[pub_author_rows]
    known = (np.asarray(country_names) != "")[entry_code]
    if not known.any():
        return {}
    present, code = np.unique(entry_code[known], return_inverse=True)
    countries = np.asarray(country_names)[present]
    pairs = np.unique(entry_pub[known] * len(countries) + code)  # each distinct country of a publication once
    pair_pub, pair_country = pairs // len(countries), pairs % len(countries)
    n_fields = len(field_ids)
    cell = pair_country * n_fields + np.asarray(pub_fields)[pair_pub]
    shape, size = (len(countries), n_fields), len(countries) * n_fields
    pubs = np.bincount(cell, minlength=size).astype(float).reshape(shape)
    cited = np.asarray(pub_citations)[pair_pub]
    cites = np.bincount(cell, weights=np.where(cited > 0, cited, 0), minlength=size).reshape(shape)
    col = {str(c): i for i, c in enumerate(countries)}
    field_totals = pubs.sum(axis=0)
    share = np.divide(pubs, field_totals, out=np.zeros_like(pubs), where=field_totals > 0)
    cite_totals = cites.sum(axis=0)
    cite_share = np.divide(cites, cite_totals, out=np.zeros_like(cites), where=cite_totals > 0)
    overall = pubs.sum(axis=1) / max(pubs.sum(), 1)
    specialization = np.divide(share, overall[:, None], out=np.zeros_like(share), where=overall[:, None] > 0)
    top = share.max(axis=0)
    relative = np.divide(share, top, out=np.zeros_like(share), where=top > 0)
    strength = SHARE_WEIGHT * relative + SPECIALIZATION_WEIGHT * np.minimum(specialization, SPECIALIZATION_CAP) / SPECIALIZATION_CAP
    return {
        c: {
            field_ids[f]: Strength(
                publications=int(pubs[i, f]),
                share=round(float(share[i, f]), 4),
                citation_share=round(float(cite_share[i, f]), 4) if cite_totals[f] > 0 else None,
                specialization=round(float(specialization[i, f]), 3),
                strength=round(float(strength[i, f]), 4),
            )
            for f in range(n_fields)
        }
        for c, i in col.items()
    }
