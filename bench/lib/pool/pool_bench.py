"""Python's multiprocessing.Pool on the benchmark's tasks: apply_async with the same window of
tasks in flight as the Node cases; prints {"tasksPerSec": ...} as JSON."""
import json
import multiprocessing
import sys
import threading
import time


def echo(x):
    return x


def size(b):
    return len(b)


def main():
    kind, window, warm_ms, measure_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    fn = echo if kind == "trivial" else size
    arg = {"id": 1, "name": "task", "values": [1, 2, 3]} if kind == "trivial" else bytes(1 << 20)
    with multiprocessing.Pool(2) as pool:
        pool.map(echo, range(100))  # workers up
        slots = threading.Semaphore(window)
        lock = threading.Lock()
        counted = [0]
        start = time.monotonic()
        warm_end = start + warm_ms / 1000
        end = warm_end + measure_ms / 1000

        def done(_):
            t = time.monotonic()
            if warm_end <= t < end:
                with lock:
                    counted[0] += 1
            slots.release()

        while time.monotonic() < end:
            slots.acquire()
            pool.apply_async(fn, (arg,), callback=done, error_callback=done)
        for _ in range(window):
            slots.acquire()
    print(json.dumps({"tasksPerSec": counted[0] / (measure_ms / 1000)}))


if __name__ == "__main__":
    main()
