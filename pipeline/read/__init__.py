"""Reading inputs: find and identify files (ingest), rasterise and clean up
scans (imaging), OCR engines behind one interface (engines, ocr), and the PDF
text layer (text). Output: ``Document`` and ``Page``/``Line`` structures."""
