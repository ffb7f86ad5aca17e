"""A scripted, TensorFlow-free event stream of a plausible run, for store, CLI and app tests."""

from __future__ import annotations

from cifar_tui.engine.run import events as ev

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
T0 = 1_800_000_000.0  # fixed times keep snapshots deterministic


def run_started(run_id="20270115-080000-demo-abcd", strategies=("scratch", "frozen", "finetune"), **kw):
    return ev.RunStarted(
        run_id=run_id, config={"strategies": list(strategies), "name": "demo", "preset": "quick", "seed": 0},
        environment={"device": "CPU", "tensorflow": "2.21.0", "keras": "3.15.1"},
        dataset={"name": "cifar10", "source": "test files", "train": 90, "val": 10, "test": 40,
                 "class_names": CLASSES, "substituted_for": ""},
        weights={"label": "ImageNet (test)", "pretrained": True}, notices=kw.get("notices", []), time=T0)


def confusion(total=40, correct_share=0.5):
    per = total // 10
    rows = []
    for i in range(10):
        row = [0] * 10
        right = int(per * correct_share)
        row[i] = right
        row[(i + 1) % 10] = per - right
        rows.append(row)
    return rows


def strategy_events(name, epochs=3, steps=4, accs=(0.3, 0.4, 0.5), test_acc=0.5, t=T0, phases=None):
    """Events of one strategy that finishes; `phases` like [("head", 1), ("finetune", 2)]."""
    out = [ev.StrategyStarted(strategy=name, image_size=32, epochs=epochs, steps_per_epoch=steps,
                              total_params=1000, weights="test", time=t)]
    phases = phases or [("train", epochs)]
    epoch = 0
    for phase, n in phases:
        out.append(ev.PhaseStarted(strategy=name, phase=phase, first_epoch=epoch + 1, epochs=n,
                                   learning_rate=1e-3, trainable_params=100, time=t))
        for _ in range(n):
            epoch += 1
            for step in range(1, steps + 1):
                out.append(ev.BatchEnd(strategy=name, phase=phase, epoch=epoch, step=step, steps=steps, loss=1.0,
                                       accuracy=0.3, images_per_s=100.0, time=t))
            acc = accs[min(epoch - 1, len(accs) - 1)]
            out.append(ev.EpochEnd(strategy=name, phase=phase, epoch=epoch, epochs=epochs, loss=2 - acc,
                                   accuracy=acc + 0.05, val_loss=2.1 - acc, val_accuracy=acc, learning_rate=1e-3,
                                   seconds=2.0, images_per_s=100.0, time=t))
    best = max(range(len(accs[:epochs])), key=lambda i: accs[i])
    out.append(ev.Evaluated(strategy=name, best_epoch=best + 1, best_val_accuracy=accs[best], test_accuracy=test_acc,
                            test_loss=1.2, class_names=CLASSES, confusion_matrix=confusion(40, test_acc),
                            precision=[test_acc] * 10, recall=[test_acc] * 10, time=t))
    out.append(ev.StrategyFinished(strategy=name, status="finished", seconds=6.0, trainable_params=100,
                                   total_params=1000, time=t))
    return out


BLOCKS = ["stem", *[f"block{i}" for i in range(1, 8)], "top"]


def backbone_change(strategy="finetune"):
    return ev.BackboneChange(strategy=strategy, blocks=BLOCKS,
                             weight_change=[0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25, 0.3],
                             cka=[0.99, 0.98, 0.97, 0.95, 0.9, 0.85, 0.75, 0.6, 0.5], images=40,
                             reference="ImageNet (test)", time=T0)


def full_run(run_id="20270115-080000-demo-abcd"):
    finetune = strategy_events("finetune", accs=(0.7, 0.8, 0.9), test_acc=0.9, phases=[("head", 1), ("finetune", 2)])
    finetune.insert(-1, backbone_change())  # after evaluation, before the strategy finishes (as the engine)
    return [run_started(run_id), *strategy_events("scratch", test_acc=0.5),
            *strategy_events("frozen", accs=(0.6, 0.7, 0.8), test_acc=0.8), *finetune,
            ev.RunFinished(status="finished", seconds=20.0, time=T0)]


def record_runs(runs_dir, run_ids, **recorder_options):
    """Record a scripted full run under each id, as the engine would have (store and reader tests)."""
    from cifar_tui.engine.store.recorder import RunRecorder

    for run_id in run_ids:
        recorder = RunRecorder(runs_dir, run_id, **recorder_options)
        for event in full_run(run_id):
            recorder(event)
        recorder.close()
