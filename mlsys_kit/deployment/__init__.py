"""Chapter 7, "Model Deployment and Prediction Service".

Serves *Designing Machine Learning Systems* (Chip Huyen, O'Reilly 2022):

================  =====================================================================
``artifacts``     "Model Deployment and Prediction Service" (exporting a model): a model
                  saved with skops, its SHA-256 and its input schema; loaded without
                  unpickling, only with types the caller trusts
``batch_online``  "Batch Prediction Versus Online Prediction" and "Unifying Batch
                  Pipeline and Streaming Pipeline": batch tables and an online model
                  replayed on the same requests (predictions wasted, staleness,
                  quality), features as of any time, account takeovers
``service``       "Batch Prediction Versus Online Prediction": an online prediction
                  service on FastAPI and uvicorn (request validation, single and batched
                  requests, size limits, a health endpoint), started and stopped from
                  Python or with ``mlsys-kit serve``
``load``          "Batch Prediction Versus Online Prediction": a load generator, N
                  clients over HTTP for equal work or a bounded time, each request's
                  latency (p50, p95, p99), errors and throughput; a minimal server with
                  and without Nagle's algorithm (what ``TCP_NODELAY`` saves)
``compression``   "Model Compression": low-rank factorization (a network's first layer
                  as two thin factors), knowledge distillation (a small tree fitted to
                  an ensemble's soft labels), pruning (an ensemble's first trees) and
                  int8 quantization (onnxruntime); each model an ONNX file, compared on
                  size, one-row and batch latency, and a paired bootstrap of test AUC
``edge``          "ML on the Cloud and on the Edge": a device's budget (bytes, one-row
                  latency, a slower core) and the best model within it; a monthly
                  cloud-vs-edge bill with its assumptions as fields, and its break-even
================  =====================================================================
"""
