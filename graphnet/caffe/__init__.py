"""Caffe nets into graphnet: prototxt nets and solvers (text_format, convert, layers, solver),
.caffemodel weights (weights), and the `graphnet import-caffe` command (command)."""
