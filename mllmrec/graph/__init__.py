"""Item-item graph refinement in Cypher (METHOD.md section 5): the co-occurrence graph G_c
from training audiences and the thresholded semantic kNN graph G_s from text embeddings,
written as CO_OCCURS / SIMILAR edges of one (:GraphBuild)."""
