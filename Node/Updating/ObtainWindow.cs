using PeerPatch.Node.Primitives;
using PeerPatch.Node.Sources;

namespace PeerPatch.Node.Updating;

/// <summary>
/// The first half of a pass (<see cref="PatchPipeline.PrepareAsync"/>: policy, lookup, the bytes into the store) for
/// several patches at once, while the pass verifies and applies them one at a time in list order
/// (<see cref="WaitAsync"/>). Workers take the patches in an order shuffled per pass, so the PCs of a LAN that run
/// the same list do not all ask for the same few patches at the same moment: each of them downloads or fetches
/// something the others do not have yet, and serves it sooner. A patch another node is downloading is set aside once,
/// while patches not yet started remain, and asked for again after them (then it waits for that node's download, as a
/// lone patch does). With one worker, patches go in list order and nothing is set aside: one at a time, as before.
/// </summary>
internal sealed class ObtainWindow : IAsyncDisposable
{
    private readonly PatchPipeline _pipeline;
    private readonly IReadOnlyList<PatchSpec> _patches;
    private readonly ProgressBoard _board;
    private readonly string _passId;
    private readonly TaskCompletionSource<PatchPipeline.Prepared>[] _results;
    private readonly PatchProgress[] _progress;
    private readonly Queue<int> _fresh;
    private readonly Queue<int> _setAside = new();
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _ready;
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _workers;
    private readonly int _workerCount;
    private int _open;

    /// <param name="concurrency">Patches obtained at the same time (at least 1).</param>
    /// <param name="ct">Ends every worker (the pass's deadline or its caller); disposing ends them too.</param>
    public ObtainWindow(PatchPipeline pipeline, IReadOnlyList<PatchSpec> patches, int concurrency, IRandomSource random, ProgressBoard board, string passId, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, 1);
        (_pipeline, _patches, _board, _passId) = (pipeline, patches, board, passId);
        _results = [.. patches.Select(_ => new TaskCompletionSource<PatchPipeline.Prepared>(TaskCreationOptions.RunContinuationsAsynchronously))];
        _progress = [.. patches.Select(_ => new PatchProgress())];
        _fresh = new Queue<int>(concurrency == 1 ? Enumerable.Range(0, patches.Count) : Shuffled(patches.Count, random));
        _open = patches.Count;
        _ready = new SemaphoreSlim(patches.Count);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _workerCount = Math.Min(concurrency, patches.Count);
        SetAsideAllowed = _workerCount > 1;
        _workers = [.. Enumerable.Range(0, _workerCount).Select(_ => Task.Run(WorkAsync))];
    }

    /// <summary>Whether a patch in flight elsewhere may be set aside (more than one worker).</summary>
    private bool SetAsideAllowed { get; }

    /// <summary>The progress of the <paramref name="index"/>th patch while it is being obtained (the pass follows it while it waits).</summary>
    public PatchProgress ProgressOf(int index) => _progress[index];

    /// <summary>The <paramref name="index"/>th patch (list order), once obtained, done or failed; its exception, if preparing it threw.</summary>
    public Task<PatchPipeline.Prepared> WaitAsync(int index, CancellationToken ct) => _results[index].Task.WaitAsync(ct);

    /// <summary>Stops the workers and waits for them; patches not yet obtained are left (their bytes, if any, stay in the store).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_workers).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // the workers were stopped: expected
        }

        foreach (var result in _results)
        {
            result.TrySetCanceled(_stop.Token); // nobody waits for these any more
        }

        _stop.Dispose();
        _ready.Dispose();
    }

    private async Task WorkAsync()
    {
        var ct = _stop.Token;
        while (true)
        {
            await _ready.WaitAsync(ct).ConfigureAwait(false);
            int index;
            bool setAside;
            lock (_lock)
            {
                if (_fresh.TryDequeue(out index))
                {
                    setAside = SetAsideAllowed && _fresh.Count > 0;
                }
                else if (_setAside.TryDequeue(out index))
                {
                    setAside = false;
                }
                else
                {
                    return; // every patch is resolved: the wake-up that ends the workers
                }
            }

            PatchPipeline.Prepared prepared;
            try
            {
                using (_board.Track(ProgressBoard.Pass, _passId, _progress[index]))
                {
                    prepared = await _pipeline.PrepareAsync(_patches[index], _progress[index], setAside, ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                _results[index].TrySetCanceled(ct);
                throw;
            }
            catch (Exception e)
            {
                _results[index].TrySetException(e); // the pass reports it as that patch's failure
                Resolved();
                continue;
            }

            if (prepared.SetAside)
            {
                lock (_lock)
                {
                    _setAside.Enqueue(index);
                }

                _ready.Release();
                continue;
            }

            _results[index].TrySetResult(prepared);
            Resolved();
        }
    }

    /// <summary>One patch fewer to obtain; after the last, wakes every worker so that they end.</summary>
    private void Resolved()
    {
        if (Interlocked.Decrement(ref _open) == 0)
        {
            _ready.Release(_workerCount);
        }
    }

    /// <summary>0..count-1 in a random order (Fisher-Yates).</summary>
    private static int[] Shuffled(int count, IRandomSource random)
    {
        var order = Enumerable.Range(0, count).ToArray();
        for (var i = count - 1; i > 0; i--)
        {
            var j = Math.Min(i, (int)(random.NextDouble() * (i + 1)));
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }
}
