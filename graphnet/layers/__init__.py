"""Every layer type, registered under its class name as the netdef `type`."""

from .base import LAYERS, Layer, Loss, Statistic, register
from .input import Input
from .inner_product import InnerProduct
from .memory_data import MemoryData
from .neurons import Exponential, LeakyReLU, ReLU, Sigmoid, Tanh
from .split import Split
