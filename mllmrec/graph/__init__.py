"""Item-item graph refinement in Cypher (docs/method.md section 5): the co-occurrence graph G_c
from training audiences and the thresholded semantic kNN graph G_s from text embeddings,
written as CO_OCCURS / SIMILAR edges of one (:GraphBuild)."""
