using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace PeerPatch.Node.Http;

/// <summary>Registers the HTTP endpoints' services and maps the endpoints (after the write check and routing).</summary>
internal static class HttpServiceCollectionExtensions
{
    public static IServiceCollection AddHttp(this IServiceCollection services, HttpOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<StatsHistory>();
        services.AddHostedService(sp => sp.GetRequiredService<StatsHistory>());
        services.AddSingleton<NodeStatusReporter>();
        services.AddSingleton<LanSurvey>();
        services.AddSingleton<ConnectionLimiter>();
        services.AddSingleton<UploadSlots>();
        services.AddSingleton<UploadThrottle>();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.WriteIndented = false;
            HttpJson.Configure(o.SerializerOptions); // source-generated metadata only (Native AOT)
        });
        return services;
    }

    /// <summary>HTTP writes and blob reads need the cluster key (when there is one); then every endpoint of the API and the dashboard.</summary>
    public static WebApplication MapHttpEndpoints(this WebApplication app)
    {
        Security.WriteAuthorization.Use(app);
        Security.ReadAuthorization.Use(app);
        app.UseRouting();
        MetricsEndpoint.UseRequestMetrics(app);
        DashboardEndpoints.Map(app);
        MetricsEndpoint.Map(app);
        BlobEndpoints.Map(app);
        DatabaseEndpoints.Map(app);
        StatusEndpoints.Map(app);
        UpdateEndpoints.Map(app);
        InventoryEndpoints.Map(app);
        SourceFaultEndpoints.Map(app);
        ComplianceEndpoints.Map(app);
        PolicyEndpoints.Map(app);
        return app;
    }
}
