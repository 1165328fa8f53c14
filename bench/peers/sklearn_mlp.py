"""W1 in scikit-learn: MLPClassifier, solver sgd, momentum 0, alpha 0, constant learning rate."""
import time
import warnings

from common import arguments, load, report, rss_now
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

args = arguments()
x, y, tx, ty = load(args.dtype)
rss_after_load = rss_now()
model = MLPClassifier(
    hidden_layer_sizes=(256, 128), activation="relu", solver="sgd", learning_rate="constant", learning_rate_init=args.lr,
    momentum=0.0, nesterovs_momentum=False, alpha=0.0, batch_size=args.batch, max_iter=args.epochs, shuffle=True,
    random_state=args.seed, tol=0.0, n_iter_no_change=args.epochs + 1, early_stopping=False)
warnings.simplefilter("ignore", ConvergenceWarning)
start = time.perf_counter()
model.fit(x, y)
seconds = time.perf_counter() - start
accuracy = float((model.predict(tx) == ty).mean())
report("scikit-learn", args.precision, args.batch, args.epochs, len(x) * args.epochs, seconds, accuracy, rss_after_load,
       {"coefs_dtype": str(model.coefs_[0].dtype)})
