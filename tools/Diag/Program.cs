return await PeerPatch.Diag.DiagApp.RunAsync(args).ConfigureAwait(false);
